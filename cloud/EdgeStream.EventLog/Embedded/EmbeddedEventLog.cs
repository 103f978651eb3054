using System.Diagnostics;
using System.Threading.Channels;

namespace EdgeStream.EventLog.Embedded;

/// <summary>
/// The default event log for a single machine: partitioned append-only segment files with a CRC-32C
/// per record, group commit (every append waiting at the same moment shares one fsync per partition),
/// retention by age and size, and consumer groups with durably committed offsets.
/// </summary>
/// <remarks>
/// One writer loop owns the files; <see cref="AppendAsync"/> hands it work through a bounded queue
/// (full mode Wait, so a burst slows the callers instead of growing memory) and completes only after
/// the fsync. After a crash, each partition's newest segment is cut back to its last whole record:
/// nothing acknowledged is lost, nothing half-written is returned.
/// </remarks>
public sealed partial class EmbeddedEventLog : IEventLog
{
    private readonly EmbeddedLogOptions _options;
    private readonly PartitionLog[] _partitions;
    private readonly Channel<AppendRequest> _queue;
    private readonly Task _writerLoop;
    private readonly string _root;
    private readonly TimeProvider _clock;
    private readonly FileStream _lock;
    private TaskCompletionSource _appended = NewSignal();
    private long _nextRetentionCheckTicks;
    private int _disposed;

    private EmbeddedEventLog(EmbeddedLogOptions options, string root, PartitionLog[] partitions, TimeProvider clock, FileStream lockFile)
    {
        _lock = lockFile;
        _options = options;
        _root = root;
        _partitions = partitions;
        _clock = clock;
        _queue = Channel.CreateBounded<AppendRequest>(new BoundedChannelOptions(options.MaxPendingAppends)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _writerLoop = Task.Factory.StartNew(WriterLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <inheritdoc/>
    public int PartitionCount => _partitions.Length;

    /// <summary>Bytes cut from torn segment tails when the log was opened (non-zero after a crash mid-write).</summary>
    public long RecoveredTruncatedBytes { get; private init; }

    /// <summary>Opens the log in <see cref="EmbeddedLogOptions.Directory"/>, creating it on first use and repairing a torn tail.</summary>
    /// <exception cref="ArgumentException">Invalid options, or a partition count that differs from the one on disk.</exception>
    public static EmbeddedEventLog Open(EmbeddedLogOptions options, TimeProvider? clock = null)
    {
        options.Validate();
        var root = Path.Combine(options.Directory, options.Name);
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(Path.Combine(root, "groups"));

        // One writer per log: a second open (another process, or the same one twice) would interleave
        // appends and corrupt the segments. The lock goes away with the process, even after kill -9.
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(root, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new EventLogException($"The embedded log in '{root}' is already open (in this or another process); share one EmbeddedEventLog instance.", ex);
        }

        try
        {
            var metaPath = Path.Combine(root, "partitions");
            if (File.Exists(metaPath))
            {
                var onDisk = int.Parse(File.ReadAllText(metaPath).Trim());
                if (onDisk != options.Partitions)
                {
                    throw new ArgumentException(
                        $"EmbeddedLogOptions.Partitions is {options.Partitions} but the log in '{root}' was created with {onDisk}; the partition count of a log cannot change.",
                        nameof(options));
                }
            }
            else
            {
                DurableIo.WriteAtomic(metaPath, System.Text.Encoding.ASCII.GetBytes(options.Partitions.ToString()));
            }
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }

        var partitions = new PartitionLog[options.Partitions];
        long truncated = 0;
        try
        {
            for (var p = 0; p < partitions.Length; p++)
            {
                partitions[p] = PartitionLog.Open(p, Path.Combine(root, p.ToString("D4")), options);
                truncated += partitions[p].RecoveredTruncatedBytes;
            }
        }
        catch
        {
            foreach (var opened in partitions)
            {
                opened?.Dispose();
            }

            lockFile.Dispose();
            throw;
        }

        return new EmbeddedEventLog(options, root, partitions, clock ?? TimeProvider.System, lockFile)
        {
            RecoveredTruncatedBytes = truncated,
        };
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LogPosition>> AppendAsync(IReadOnlyList<LogMessage> messages, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (messages.Count == 0)
        {
            return [];
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Key.Length > ushort.MaxValue || m.Key.Length + m.Value.Length > _options.MaxRecordBytes)
            {
                throw new ArgumentException(
                    $"Record {i} has a {m.Key.Length}-byte key and a {m.Value.Length}-byte value; keys are at most 65535 bytes and key + value at most EmbeddedLogOptions.MaxRecordBytes ({_options.MaxRecordBytes}).",
                    nameof(messages));
            }
        }

        var request = new AppendRequest(messages);
        await _queue.Writer.WriteAsync(request, cancellationToken);

        // Once queued the append goes ahead even if the caller stops waiting: cancelling here only
        // stops the wait, it cannot un-write records.
        return await request.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public Task<PartitionOffsets> GetOffsetsAsync(int partition, CancellationToken cancellationToken = default)
    {
        var p = GetPartition(partition);
        return Task.FromResult(new PartitionOffsets(p.StartOffset, p.DurableEnd));
    }

    /// <inheritdoc/>
    public IEventLogConsumer CreateConsumer(LogConsumerOptions options)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        options.Validate();
        return new EmbeddedConsumer(this, GetGroup(options.GroupId), options);
    }

    /// <summary>Applies retention now (it also runs after appends, at most once a minute); returns the segments deleted.</summary>
    public int ApplyRetention()
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        var deleted = 0;
        foreach (var p in _partitions)
        {
            deleted += p.ApplyRetention(now);
        }

        return deleted;
    }

    /// <summary>Stops accepting appends, lets the queued ones finish, and closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writerLoop;
        foreach (var p in _partitions)
        {
            p.Dispose();
        }

        await _lock.DisposeAsync();
        PulseAppended();
    }

    internal PartitionLog GetPartition(int partition) =>
        (uint)partition < (uint)_partitions.Length
            ? _partitions[partition]
            : throw new ArgumentOutOfRangeException(nameof(partition), partition, $"The log has partitions 0..{_partitions.Length - 1}.");

    internal int MaxRecordBytes => _options.MaxRecordBytes;

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>A task that completes at the next append or group change; consumers wait on it.</summary>
    internal Task NextChange => Volatile.Read(ref _appended).Task;

    internal void PulseAppended() => Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task WriterLoop()
    {
        var batch = new List<AppendRequest>();
        var touched = new bool[_partitions.Length];
        var touchedList = new List<PartitionLog>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var records = 0;
            while (records < 100_000 && _queue.Reader.TryRead(out var request))
            {
                batch.Add(request);
                records += request.Messages.Count;
            }

            touchedList.Clear();
            Array.Clear(touched);
            var start = Stopwatch.GetTimestamp();
            try
            {
                foreach (var request in batch)
                {
                    var positions = new LogPosition[request.Messages.Count];
                    for (var i = 0; i < positions.Length; i++)
                    {
                        var message = request.Messages[i];
                        var pi = LogPartitioner.PartitionFor(message.Key.Span, _partitions.Length);
                        var partition = _partitions[pi];
                        positions[i] = new LogPosition(pi, partition.Stage(message));
                        if (!touched[pi])
                        {
                            touched[pi] = true;
                            touchedList.Add(partition);
                        }
                    }

                    request.Positions = positions;
                }

                if (touchedList.Count == 1)
                {
                    touchedList[0].Commit();
                }
                else
                {
                    // fsyncs of different files overlap well on every journaling file system.
                    Parallel.ForEach(touchedList, p => p.Commit());
                }
            }
            catch (Exception ex)
            {
                foreach (var p in touchedList)
                {
                    try
                    {
                        p.Rollback();
                    }
                    catch (Exception)
                    {
                        // Left as is; the next open cuts the partition back to its last whole record.
                    }
                }

                var failure = new EventLogException($"The embedded log '{Name}' could not write to '{_root}': {ex.Message}", ex);
                foreach (var request in batch)
                {
                    request.Completion.TrySetException(failure);
                }

                continue;
            }

            try
            {
                GroupCommitted?.Invoke(batch.Count, records, Stopwatch.GetElapsedTime(start));
            }
            catch (Exception)
            {
                // An observer's failure must not stop the writer: the records are durable already.
            }

            foreach (var request in batch)
            {
                request.Completion.TrySetResult(request.Positions!);
            }

            PulseAppended();
            MaybeApplyRetention();
        }
    }

    /// <summary>Raised by the writer after each group commit: requests, records, and how long the write and fsync took.</summary>
    public event Action<int, int, TimeSpan>? GroupCommitted;

    private void MaybeApplyRetention()
    {
        var now = _clock.GetUtcNow();
        if (now.UtcTicks < _nextRetentionCheckTicks)
        {
            return;
        }

        _nextRetentionCheckTicks = now.UtcTicks + TimeSpan.TicksPerMinute;
        try
        {
            ApplyRetention();
        }
        catch (IOException)
        {
            // Retention is retried at the next check; a failed delete never affects appends.
        }
    }

    private sealed class AppendRequest(IReadOnlyList<LogMessage> messages)
    {
        public IReadOnlyList<LogMessage> Messages { get; } = messages;

        public LogPosition[]? Positions { get; set; }

        public TaskCompletionSource<IReadOnlyList<LogPosition>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
