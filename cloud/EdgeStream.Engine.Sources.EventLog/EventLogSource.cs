using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeStream.EventLog;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Engine.Sources.EventLog;

/// <summary>
/// The engine's source on the event log (<see cref="IEventLog"/>: embedded or Kafka). One consumer-group
/// member per stream-service instance; its rebalances drive the runner's partition assignment, and its
/// records are handed to each partition's task through a bounded channel.
/// </summary>
/// <remarks>
/// <para>
/// Assignment: when the log gives this member a partition it asks where to start reading
/// (<see cref="LogConsumerOptions.StartOffsetFor"/>); the answer is the engine's: the partition is assigned
/// to the runner there, which restores the latest checkpoint and opens this source's reader at the
/// checkpoint's offset, and that offset is handed back to the log. So reading starts exactly where the
/// restored state ends, without a seek racing the group's committed offset. When the log takes a
/// partition away, the runner revokes it first (final checkpoint), before another member can get it.
/// </para>
/// <para>
/// Threads: one loop reads the consumer (for Kafka the blocking <c>Consume</c> already runs on the
/// consumer's own thread and hands over through a bounded channel) and copies each partition's records
/// into pooled chunks; a partition's chunks wait in a bounded channel (full mode Wait) for its task.
/// A slow task therefore slows the consumer; nothing is dropped. Records that arrive for a partition
/// that is not open here (revoked a moment ago) are discarded and counted: their next owner reads them
/// again from its checkpoint.
/// </para>
/// </remarks>
public sealed partial class EventLogSource : IPartitionedSource, IAsyncDisposable
{
    private readonly IEventLog _log;
    private readonly EventLogSourceOptions _options;
    private readonly ILogger _logger;
    private readonly Feed?[] _feeds;
    private readonly ConcurrentBag<RecordBatch> _pool = [];
    private readonly CancellationTokenSource _stop = new();
    private Func<IReadOnlyList<int>, CancellationToken, Task>? _assign;
    private Func<IReadOnlyList<int>, CancellationToken, Task>? _revoke;
    private IEventLogConsumer? _consumer;
    private Task? _pump;
    private Task? _refresh;
    private long _discarded;
    private long _commitFailures;
    private long _assignFailures;
    private int _disposed;
    private Exception? _pumpFault;

    /// <summary>Creates the source; <see cref="Start"/> joins the group once the runner exists.</summary>
    public EventLogSource(IEventLog log, EventLogSourceOptions options, ILoggerFactory? loggers = null)
    {
        _log = log;
        _options = options.Validate();
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger("EdgeStream.Engine.Sources.EventLog.EventLogSource");
        _feeds = new Feed?[log.PartitionCount];
    }

    /// <inheritdoc />
    public int PartitionCount => _log.PartitionCount;

    /// <summary>Partitions this instance's group member owns now.</summary>
    public IReadOnlyList<int> Assignment => _consumer?.Assignment ?? [];

    /// <summary>Records fetched for a partition not open here (revoked meanwhile); their next owner reads them from its checkpoint.</summary>
    public long DiscardedRecords => Interlocked.Read(ref _discarded);

    /// <summary>Consumer-group commits that failed or timed out (advisory: recovery reads checkpoints, not commits).</summary>
    public long CommitFailures => Interlocked.Read(ref _commitFailures);

    /// <summary>Why reading the log stopped for good, if it did (logged as critical); null while it runs.</summary>
    public Exception? Fault => Volatile.Read(ref _pumpFault);

    /// <summary>Partitions the runner could not start when the log assigned them (logged as critical).</summary>
    public long AssignFailures => Interlocked.Read(ref _assignFailures);

    /// <summary>
    /// Joins the consumer group: from now on the group's rebalances call <paramref name="assign"/> and
    /// <paramref name="revoke"/> (normally <c>StreamRunner.AssignAsync</c> / <c>RevokeAsync</c>).
    /// </summary>
    public void Start(Func<IReadOnlyList<int>, CancellationToken, Task> assign, Func<IReadOnlyList<int>, CancellationToken, Task> revoke)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.CompareExchange(ref _assign, assign, null) is not null)
        {
            throw new InvalidOperationException("The event-log source is already started.");
        }

        _revoke = revoke;
        _consumer = _log.CreateConsumer(new LogConsumerOptions
        {
            GroupId = _options.GroupId,
            MaxBatchRecords = _options.MaxBatchRecords,
            StartFrom = OffsetReset.Earliest,
            StartOffsetFor = OnPartitionAssigned,
            OnPartitionsRevoked = OnPartitionsRevoked,
        });
        _pump = Task.Run(PumpAsync);
        _refresh = Task.Run(RefreshEndOffsetsAsync);
    }

    /// <inheritdoc />
    public IPartitionReader OpenReader(int partition, long nextOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nextOffset);
        if ((uint)partition >= (uint)_feeds.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(partition), partition, $"Partition {partition} is outside 0..{_feeds.Length - 1}.");
        }

        var feed = new Feed(this, partition, nextOffset, _options.EndAt?.Invoke(partition));
        var previous = Interlocked.Exchange(ref _feeds[partition], feed);
        previous?.Close();
        return feed;
    }

    /// <summary>Leaves the group: the runner's partitions are revoked (final checkpoints) and reading stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        if (_pump is not null)
        {
            await _pump;
        }

        if (_refresh is not null)
        {
            await _refresh;
        }

        // Dispose revokes what the member owns (the revoke callback), so the partitions' final
        // checkpoints are taken before another member can be given them.
        _consumer?.Dispose();
        foreach (var feed in _feeds)
        {
            feed?.Close();
        }

        _stop.Dispose();
    }

    private long? OnPartitionAssigned(int partition)
    {
        // The runner restores the partition's checkpoint and opens a reader here at its offset; that
        // offset is where the log starts delivering.
        try
        {
            _assign!([partition], _stop.Token).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _assignFailures);
            LogAssignFailed(_logger, ex, partition);
            return null;
        }

        return Volatile.Read(ref _feeds[partition]) is { } feed ? feed.ResumeOffset : null;
    }

    private void OnPartitionsRevoked(IReadOnlyList<int> partitions)
    {
        try
        {
            _revoke!(partitions, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            LogRevokeFailed(_logger, ex, string.Join(',', partitions));
        }

        foreach (var p in partitions)
        {
            Interlocked.Exchange(ref _feeds[p], null)?.Close();
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            await PumpLoopAsync();
        }
        catch (Exception ex)
        {
            // A defect here would silently starve every partition: make it loud.
            Volatile.Write(ref _pumpFault, ex);
            LogPumpFailed(_logger, ex);
        }
    }

    private async Task PumpLoopAsync()
    {
        var pending = new RecordBatch?[_feeds.Length];
        var touched = new List<int>();
        while (!_stop.IsCancellationRequested)
        {
            IReadOnlyList<LogRecord> records;
            try
            {
                records = await _consumer!.ConsumeAsync(_options.PollInterval, _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A failing log (disk, broker) is retried; the tasks meanwhile see no records and their
                // partitions' lag grows in the metrics.
                LogConsumeFailed(_logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            // Records of one read are copied into per-partition chunks before the next read reuses their buffers.
            for (var i = 0; i < records.Count; i++)
            {
                var r = records[i];
                var chunk = pending[r.Partition];
                if (chunk is null)
                {
                    chunk = pending[r.Partition] = Rent();
                    touched.Add(r.Partition);
                }

                if (!chunk.TryAdd(r.Offset, r.Key.Span, r.Value.Span))
                {
                    await HandOverAsync(r.Partition, chunk);
                    chunk = pending[r.Partition] = Rent();
                    chunk.TryAdd(r.Offset, r.Key.Span, r.Value.Span);
                }
            }

            foreach (var p in touched)
            {
                await HandOverAsync(p, pending[p]!);
                pending[p] = null;
            }

            touched.Clear();
        }
    }

    private async ValueTask HandOverAsync(int partition, RecordBatch chunk)
    {
        var feed = Volatile.Read(ref _feeds[partition]);
        if (feed is not null && await feed.WriteAsync(chunk, _stop.Token))
        {
            return;
        }

        Interlocked.Add(ref _discarded, chunk.Count);
        Return(chunk);
    }

    private async Task RefreshEndOffsetsAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            for (var p = 0; p < _feeds.Length; p++)
            {
                if (Volatile.Read(ref _feeds[p]) is not { } feed)
                {
                    continue;
                }

                try
                {
                    var offsets = await _log.GetOffsetsAsync(p, _stop.Token);
                    feed.KnownEnd = offsets.End;
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    LogEndOffsetFailed(_logger, ex, p);
                }
            }

            try
            {
                await Task.Delay(_options.EndOffsetRefresh, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private RecordBatch Rent()
    {
        if (_pool.TryTake(out var chunk))
        {
            chunk.Clear();
            return chunk;
        }

        return new RecordBatch(_options.ChunkRecords);
    }

    private void Return(RecordBatch chunk)
    {
        chunk.Clear();
        _pool.Add(chunk);
    }

    private async ValueTask CommitAsync(int partition, long nextOffset, CancellationToken cancellationToken)
    {
        var consumer = _consumer;
        if (consumer is null)
        {
            return;
        }

        try
        {
            await consumer.CommitAsync([new LogPosition(partition, nextOffset)], cancellationToken).WaitAsync(_options.CommitTimeout, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The commit only tells the group (monitoring, retention) how far checkpoints reach; a
            // failure must not stop the partition, whose recovery reads its checkpoint.
            Interlocked.Increment(ref _commitFailures);
            LogCommitFailed(_logger, ex, partition, nextOffset);
        }
    }

    [LoggerMessage(EventId = 7301, Level = LogLevel.Critical, Message = "Partition {Partition} was assigned by the log but could not be started; it stays stopped until it is assigned again")]
    private static partial void LogAssignFailed(ILogger logger, Exception exception, int partition);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Error, Message = "Revoking partitions {Partitions} failed; the next owner resumes from their latest checkpoints")]
    private static partial void LogRevokeFailed(ILogger logger, Exception exception, string partitions);

    [LoggerMessage(EventId = 7303, Level = LogLevel.Error, Message = "Reading the event log failed; retrying")]
    private static partial void LogConsumeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7304, Level = LogLevel.Warning, Message = "The end offset of partition {Partition} could not be read")]
    private static partial void LogEndOffsetFailed(ILogger logger, Exception exception, int partition);

    [LoggerMessage(EventId = 7306, Level = LogLevel.Critical, Message = "Reading the event log stopped on an unexpected error; no partition of this instance receives records")]
    private static partial void LogPumpFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7305, Level = LogLevel.Warning, Message = "Consumer-group commit of partition {Partition} at {Offset} failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int partition, long offset);

    /// <summary>One open partition: the chunks waiting for its task, and the reader the task uses.</summary>
    private sealed class Feed : IPartitionReader
    {
        private readonly EventLogSource _source;
        private readonly Channel<RecordBatch> _chunks;
        private readonly long _endAt;
        private RecordBatch? _current;
        private int _currentIndex;
        private long _next;
        private long _routedNext;
        private long _knownEnd = -1;

        public Feed(EventLogSource source, int partition, long nextOffset, long? endAt)
        {
            _source = source;
            Partition = partition;
            _next = nextOffset;
            _routedNext = nextOffset;
            _endAt = endAt ?? long.MaxValue;
            _chunks = Channel.CreateBounded<RecordBatch>(new BoundedChannelOptions(source._options.ChunksPerPartition)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
                SingleWriter = true,
            });
        }

        public int Partition { get; }

        public long EndOffset => Math.Max(Volatile.Read(ref _knownEnd), Volatile.Read(ref _routedNext));

        public long KnownEnd
        {
            get => Volatile.Read(ref _knownEnd);
            set => Volatile.Write(ref _knownEnd, value);
        }

        /// <summary>Where the log should deliver from for this reader: past what was already handed over.</summary>
        public long ResumeOffset => Volatile.Read(ref _routedNext);

        public async ValueTask<bool> WriteAsync(RecordBatch chunk, CancellationToken cancellationToken)
        {
            // Read before the hand-over: once written, the task may consume the chunk and clear it.
            var next = chunk.OffsetAt(chunk.Count - 1) + 1;
            try
            {
                await _chunks.Writer.WriteAsync(chunk, cancellationToken);
                Volatile.Write(ref _routedNext, Math.Max(_routedNext, next));
                return true;
            }
            catch (ChannelClosedException)
            {
                return false;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public async ValueTask<ReadStatus> ReadAsync(RecordBatch batch, TimeSpan maxWait, CancellationToken cancellationToken)
        {
            batch.Clear();
            if (_next >= _endAt)
            {
                return ReadStatus.Ended;
            }

            while (!batch.IsFull && _next < _endAt)
            {
                if (_current is null)
                {
                    if (!_chunks.Reader.TryRead(out _current))
                    {
                        if (batch.Count > 0 || !await WaitForChunkAsync(maxWait, cancellationToken))
                        {
                            break;
                        }

                        continue;
                    }

                    _currentIndex = 0;
                }

                var chunk = _current;
                while (_currentIndex < chunk.Count && !batch.IsFull)
                {
                    var offset = chunk.OffsetAt(_currentIndex);

                    // Records before the reader's offset (delivered again after a re-seek) were processed already.
                    if (offset >= _next)
                    {
                        if (offset >= _endAt)
                        {
                            _next = _endAt;
                            break;
                        }

                        batch.TryAdd(offset, chunk.KeyAt(_currentIndex), chunk.ValueAt(_currentIndex));
                        _next = offset + 1;
                    }

                    _currentIndex++;
                }

                if (_currentIndex >= chunk.Count || _next >= _endAt)
                {
                    _current = null;
                    _source.Return(chunk);
                }
            }

            if (batch.Count > 0)
            {
                return ReadStatus.Records;
            }

            if (_next >= _endAt)
            {
                return ReadStatus.Ended;
            }

            // Caught up only when the log holds nothing beyond what was read (as of the last look at its
            // end); records still on their way keep a partition's sources from being judged idle.
            var end = KnownEnd;
            return end < 0 || end <= _next ? ReadStatus.CaughtUp : ReadStatus.Records;
        }

        public ValueTask CommitAsync(long nextOffset, CancellationToken cancellationToken) =>
            _source.CommitAsync(Partition, nextOffset, cancellationToken);

        public void Close() => _chunks.Writer.TryComplete();

        public ValueTask DisposeAsync()
        {
            Close();
            Interlocked.CompareExchange(ref _source._feeds[Partition], null, this);
            if (_current is not null)
            {
                _source.Return(_current);
                _current = null;
            }

            while (_chunks.Reader.TryRead(out var chunk))
            {
                _source.Return(chunk);
            }

            return ValueTask.CompletedTask;
        }

        private async ValueTask<bool> WaitForChunkAsync(TimeSpan maxWait, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(maxWait);
            try
            {
                return await _chunks.Reader.WaitToReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }
}

/// <summary>Binds an <see cref="EventLogSource"/> to the runner it feeds.</summary>
public static class EventLogSourceExtensions
{
    /// <summary>Joins the consumer group with the runner's <c>AssignAsync</c>/<c>RevokeAsync</c> as the rebalance handlers.</summary>
    public static void Start<TEvent, TKey, TState, TOutput>(this EventLogSource source, StreamRunner<TEvent, TKey, TState, TOutput> runner)
        where TEvent : struct
        where TKey : notnull, IEquatable<TKey>
        where TState : struct =>
        source.Start(runner.AssignAsync, runner.RevokeAsync);
}
