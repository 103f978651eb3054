using System.Collections.Concurrent;
using System.Threading.Channels;
using Confluent.Kafka;

namespace EdgeStream.EventLog.Kafka;

/// <summary>
/// A member of a Kafka consumer group. The blocking <c>Consume</c> runs on a dedicated thread and hands
/// records over a bounded channel in runs of up to <see cref="FetchRun"/> (whatever librdkafka had already
/// fetched), so the hand-over costs one channel operation per run rather than per record (full mode Wait:
/// the thread stops fetching when the reader is behind).
/// Rebalance callbacks run on that thread, inside <c>Consume</c>, as Kafka requires; records fetched
/// before a partition was revoked or re-seeked are dropped at hand-over, so none is returned twice
/// by the same member or for a partition it no longer owns.
/// </summary>
internal sealed class KafkaEventLogConsumer : IEventLogConsumer
{
    private readonly KafkaEventLog _log;
    private readonly LogConsumerOptions _options;
    private readonly IConsumer<byte[], byte[]> _consumer;
    /// <summary>Most records handed over in one run.</summary>
    internal const int FetchRun = 256;

    private readonly Channel<Run> _fetched;
    private readonly ConcurrentQueue<Run> _free = new();
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    // Per partition: the epoch a record must carry to be returned (moved by seeks and revocations), and the
    // epoch the fetch thread stamps on what it takes (moved there, once a seek is made or a partition revoked).
    private readonly int[] _epochs;
    private readonly int[] _stamps;
    private readonly ConcurrentQueue<(int Partition, long Offset, int Epoch)> _seeks = new();
    private readonly Lock _assignmentLock = new();
    private readonly List<LogRecord> _batch = [];
    private Run? _current;
    private int _currentIndex;
    private int[] _assignment = [];
    private Exception? _failure;

    public KafkaEventLogConsumer(KafkaEventLog log, LogConsumerOptions options)
    {
        _log = log;
        _options = options;
        _epochs = new int[log.PartitionCount];
        _stamps = new int[log.PartitionCount];
        var config = (ConsumerConfig)log.ClientConfig(new ConsumerConfig
        {
            GroupId = options.GroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = options.StartFrom == OffsetReset.Earliest ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
            SessionTimeoutMs = log.Options.SessionTimeoutMs,
            HeartbeatIntervalMs = Math.Max(100, log.Options.SessionTimeoutMs / 5),
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,

            // librdkafka stops fetching a partition whose local queue is past queued.min.messages
            // (100,000) and looks again only after this back-off (default 1 s): a consumer that drains
            // faster than that sat idle for most of a second each time. 20 ms costs nothing noticeable.
            FetchQueueBackoffMs = 20,

            // Only the timestamp is used: no per-record topic string or headers object.
            ConsumeResultFields = "timestamp",
        });
        _consumer = new ConsumerBuilder<byte[], byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .Build();
        // The same bound on records waiting as a channel of single records of max(1000, MaxBatchRecords) had.
        _fetched = Channel.CreateBounded<Run>(new BoundedChannelOptions(Math.Max(4, (Math.Max(1000, options.MaxBatchRecords) + FetchRun - 1) / FetchRun))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        _consumer.Subscribe(log.Name);
        _thread = new Thread(FetchLoop) { IsBackground = true, Name = $"kafka-consumer-{options.GroupId}" };
        _thread.Start();
    }

    public string GroupId => _options.GroupId;

    public IReadOnlyList<int> Assignment
    {
        get
        {
            lock (_assignmentLock)
            {
                return _assignment;
            }
        }
    }

    public async ValueTask<IReadOnlyList<LogRecord>> ConsumeAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        _batch.Clear();
        CancellationTokenSource? timeout = null;
        try
        {
            while (_batch.Count < _options.MaxBatchRecords)
            {
                if (_failure is not null)
                {
                    throw new EventLogException($"The Kafka consumer of group '{GroupId}' failed: {_failure.Message}", _failure);
                }

                if (_current is null)
                {
                    if (!_fetched.Reader.TryRead(out _current))
                    {
                        if (_batch.Count > 0)
                        {
                            break;
                        }

                        if (timeout is null)
                        {
                            timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                            timeout.CancelAfter(maxWait);
                        }

                        try
                        {
                            // The channel is never completed: this returns when a run arrives, or throws on time-out.
                            await _fetched.Reader.WaitToReadAsync(timeout.Token);
                            continue;
                        }
                        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                        {
                            break;
                        }
                    }

                    _currentIndex = 0;
                }

                var run = _current;
                while (_currentIndex < run.Count && _batch.Count < _options.MaxBatchRecords)
                {
                    var i = _currentIndex++;
                    var result = run.Results[i];
                    var p = result.Partition.Value;

                    // Fetched before its partition was revoked or re-seeked: not this member's to return.
                    if (Volatile.Read(ref _epochs[p]) != run.Epochs[i])
                    {
                        continue;
                    }

                    _batch.Add(new LogRecord(p, result.Offset.Value, result.Message.Timestamp.UnixTimestampMs * 1000, result.Message.Key, result.Message.Value));
                }

                if (_currentIndex >= run.Count)
                {
                    _current = null;
                    run.Clear();
                    _free.Enqueue(run);
                }
            }
        }
        finally
        {
            timeout?.Dispose();
        }

        return _batch;
    }

    /// <remarks>
    /// Records fetched before the seek must not be returned after it. The partition's epoch moves here, at
    /// once, so that nothing already handed over under the old epoch is returned; the seek itself is made on
    /// the fetch thread, between two <c>Consume</c> calls, which only then stamps records with the new epoch.
    /// (Seeking from this thread while the fetch thread held a record taken before the seek let that record
    /// be stamped with the new epoch and returned.)
    /// </remarks>
    public void Seek(int partition, long offset)
    {
        if (!Assignment.Contains(partition))
        {
            throw new InvalidOperationException($"Partition {partition} is not assigned to this member of group '{GroupId}'.");
        }

        var epoch = Interlocked.Increment(ref _epochs[partition]);
        _seeks.Enqueue((partition, offset, epoch));
    }

    public Task CommitAsync(IReadOnlyList<LogPosition> nextOffsets, CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        try
        {
            _consumer.Commit(nextOffsets.Select(o => new TopicPartitionOffset(_log.Name, o.Partition, o.Offset)));
        }
        catch (KafkaException ex)
        {
            throw new EventLogException($"Commit for group '{GroupId}' failed: {ex.Error.Reason}", ex);
        }
    }, cancellationToken);

    public Task<long?> GetCommittedAsync(int partition, CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        var committed = _consumer.Committed([new TopicPartition(_log.Name, partition)], _log.Options.RequestTimeout);
        var offset = committed.Single().Offset;
        return offset == Offset.Unset ? (long?)null : offset.Value;
    }, cancellationToken);

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        try
        {
            // Leaves the group now (revoke callback included) instead of after the session timeout.
            _consumer.Close();
        }
        catch (KafkaException)
        {
            // The group will expire the member after the session timeout.
        }

        _consumer.Dispose();
        _stop.Dispose();
    }

    private void FetchLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                ApplySeeks();
                var result = Next(TimeSpan.FromMilliseconds(100));
                if (result is null)
                {
                    continue;
                }

                // Then whatever librdkafka has already fetched, without waiting, up to a run.
                var run = _free.TryDequeue(out var free) ? free : new Run();
                run.Add(result, _stamps[result.Partition.Value]);
                while (run.Count < FetchRun && _seeks.IsEmpty && Next(TimeSpan.Zero) is { } more)
                {
                    run.Add(more, _stamps[more.Partition.Value]);
                }

                while (!_fetched.Writer.TryWrite(run))
                {
                    // Full: wait for the reader, but keep serving the group (heartbeats are on
                    // librdkafka's own thread; rebalances need Consume to be called) after a while.
                    if (_fetched.Writer.WaitToWriteAsync(_stop.Token).AsTask().Wait(TimeSpan.FromMilliseconds(100)))
                    {
                        continue;
                    }

                    if (_stop.IsCancellationRequested)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (AggregateException ex) when (ex.InnerException is OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            _failure = ex;
        }
    }

    /// <summary>Makes the seeks asked for since the last call; records taken from now on carry their new epochs.</summary>
    private void ApplySeeks()
    {
        while (_seeks.TryDequeue(out var seek))
        {
            try
            {
                _consumer.Seek(new TopicPartitionOffset(_log.Name, seek.Partition, seek.Offset));
            }
            catch (KafkaException ex) when (!ex.Error.IsFatal)
            {
                // Revoked in the meantime: the new owner starts from the committed offset.
            }

            // A revocation since the seek was asked for has moved the epoch further: keep the newer one.
            _stamps[seek.Partition] = Math.Max(_stamps[seek.Partition], seek.Epoch);
        }
    }

    /// <summary>The next record, or null when none came within <paramref name="timeout"/> (or a passing, non-fatal error).</summary>
    private ConsumeResult<byte[], byte[]>? Next(TimeSpan timeout)
    {
        try
        {
            var result = _consumer.Consume(timeout);
            return result is null || result.IsPartitionEOF ? null : result;
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            return null;
        }
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
    {
        // The start offsets are handed to the assignment itself: a seek issued after it could race
        // with librdkafka resolving the committed or reset offset.
        var start = partitions
            .Select(tp => new TopicPartitionOffset(tp, tp.Topic == _log.Name && _options.StartOffsetFor?.Invoke(tp.Partition.Value) is { } offset ? new Offset(offset) : Offset.Unset))
            .ToList();
        var added = partitions.Where(p => p.Topic == _log.Name).Select(p => p.Partition.Value).ToList();
        lock (_assignmentLock)
        {
            _assignment = [.. _assignment.Union(added).Order()];
        }

        if (added.Count > 0)
        {
            _options.OnPartitionsAssigned?.Invoke(added);
        }

        return start;
    }

    private void OnRevoked(IEnumerable<TopicPartition> partitions)
    {
        var removed = partitions.Where(p => p.Topic == _log.Name).Select(p => p.Partition.Value).ToList();
        foreach (var p in removed)
        {
            // On the fetch thread (rebalance callbacks run inside Consume): records taken after this carry the new epoch.
            _stamps[p] = Interlocked.Increment(ref _epochs[p]);
        }

        lock (_assignmentLock)
        {
            _assignment = [.. _assignment.Except(removed)];
        }

        if (removed.Count > 0)
        {
            _options.OnPartitionsRevoked?.Invoke(removed);
        }
    }

    /// <summary>Records taken from the consumer in one go, each with its partition's epoch at that moment; reused.</summary>
    private sealed class Run
    {
        public ConsumeResult<byte[], byte[]>[] Results { get; } = new ConsumeResult<byte[], byte[]>[FetchRun];

        public int[] Epochs { get; } = new int[FetchRun];

        public int Count { get; private set; }

        public void Add(ConsumeResult<byte[], byte[]> result, int epoch)
        {
            Results[Count] = result;
            Epochs[Count] = epoch;
            Count++;
        }

        public void Clear()
        {
            Array.Clear(Results, 0, Count);
            Count = 0;
        }
    }
}
