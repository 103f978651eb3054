using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeStream.Contracts;
using EdgeStream.Outbox.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Outbox;

/// <summary>
/// The gateway's durable store-and-forward buffer. Reads and presence events are appended through a
/// bounded queue to one writer, which seals them into batches, appends the batches to a checksummed
/// segment log per data class and syncs it (group commit), then records them in a LiteDB index. A
/// batch leaves only when the uplink reports the broker's acknowledgement, or when the overflow
/// policy gives it up (counted and logged). See docs/store-and-forward.md for the durability policy.
/// </summary>
public sealed partial class Outbox : IOutboxWriter, IAsyncDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan IndexReopenInterval = TimeSpan.FromSeconds(2);

    private readonly OutboxOptions _options;
    private readonly IOutboxStorage _storage;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly OutboxMetrics? _metrics;
    private readonly Channel<IngestItem> _ingest;
    private readonly SegmentLog _readsLog;
    private readonly SegmentLog _presenceLog;
    private OutboxIndex _index;
    private readonly object _gate = new();
    private readonly ClassQueue _readsQueue = new();
    private readonly ClassQueue _presenceQueue = new();
    private readonly ConcurrentQueue<ulong> _acked = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly List<RecordInfo> _unindexed = [];
    private readonly List<ulong> _unindexedRemovals = [];
    private readonly SegmentRetention _retention;
    private readonly Task _writer;
    private TaskCompletionSource _changed = NewSignal();
    private ulong _nextSeq;
    private long _acceptedReads;
    private long _acceptedEvents;
    private long _ackedBatches;
    private long _droppedReads;
    private long _droppedEvents;
    private volatile string? _lastError;
    private volatile bool _lastErrorIsIndex;
    private int _disposed;
    private int _wakePending;

    private Outbox(OutboxOptions options, IOutboxStorage storage, ILogger logger, OutboxMetrics? metrics, TimeProvider time)
    {
        _options = options;
        _storage = storage;
        _logger = logger;
        _metrics = metrics;
        _time = time;
        _ingest = Channel.CreateBounded<IngestItem>(new BoundedChannelOptions(options.IngestCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        _readsLog = new SegmentLog(storage, DataClass.Reads, options.SegmentBytes);
        _presenceLog = new SegmentLog(storage, DataClass.Presence, options.SegmentBytes);
        _readBuffer = new TagRead[options.Reads.MaxBatchRecords];
        _eventBuffer = new PresenceEvent[options.Presence.MaxBatchRecords];

        _retention = new SegmentRetention(options, logger, time, _gate, (_readsLog, _readsQueue), (_presenceLog, _presenceQueue), _acked.Enqueue, CountDropped);
        _index = Recover();
        _writer = Task.Factory.StartNew(WriterLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

        if (metrics is not null)
        {
            var m = metrics.Meter;
            m.CreateObservableGauge("edgestream_edge_buffer_reads", () => BufferedReads, description: "Reads in the outbox not yet acknowledged by the broker.");
            m.CreateObservableGauge("edgestream_edge_buffer_events", () => BufferedEvents, description: "Presence events in the outbox not yet acknowledged by the broker.");
            m.CreateObservableGauge("edgestream_edge_buffer_bytes", () => BufferBytes, unit: "By", description: "Bytes of the outbox's segment files on disk.");
            m.CreateObservableGauge("edgestream_edge_buffer_oldest_age_seconds", () => OldestAge.TotalSeconds, unit: "s", description: "Age of the oldest batch not yet acknowledged (0 when empty).");
        }
    }

    /// <summary>Opens (recovering if needed) the outbox on <paramref name="storage"/> and starts its writer.</summary>
    /// <exception cref="OptionsException">An option is out of range.</exception>
    public static Outbox Open(OutboxOptions options, IOutboxStorage storage, ILogger logger, OutboxMetrics? metrics = null, TimeProvider? time = null)
    {
        options.Validate();
        return new Outbox(options, storage, logger, metrics, time ?? TimeProvider.System);
    }

    /// <summary>The settings in force.</summary>
    public OutboxOptions Options => _options;

    /// <summary>Reads accepted (synced to disk) since this instance opened.</summary>
    public long AcceptedReads => Interlocked.Read(ref _acceptedReads);

    /// <summary>Presence events accepted since this instance opened.</summary>
    public long AcceptedEvents => Interlocked.Read(ref _acceptedEvents);

    /// <summary>Batches released after the broker's acknowledgement since this instance opened.</summary>
    public long AckedBatches => Interlocked.Read(ref _ackedBatches);

    /// <summary>Reads given up (overflow, age, failed writes, corruption) since this instance opened.</summary>
    public long DroppedReads => Interlocked.Read(ref _droppedReads);

    /// <summary>Presence events given up since this instance opened.</summary>
    public long DroppedEvents => Interlocked.Read(ref _droppedEvents);

    /// <summary>Reads waiting for the broker.</summary>
    public long BufferedReads
    {
        get
        {
            lock (_gate)
            {
                return _readsQueue.Records;
            }
        }
    }

    /// <summary>Presence events waiting for the broker.</summary>
    public long BufferedEvents
    {
        get
        {
            lock (_gate)
            {
                return _presenceQueue.Records;
            }
        }
    }

    /// <summary>Batches (of both classes) waiting for the broker.</summary>
    public int BufferedBatches
    {
        get
        {
            lock (_gate)
            {
                return _readsQueue.Batches + _presenceQueue.Batches;
            }
        }
    }

    /// <summary>Bytes of segment files on disk.</summary>
    public long BufferBytes
    {
        get
        {
            lock (_gate)
            {
                return _readsLog.TotalBytes + _presenceLog.TotalBytes;
            }
        }
    }

    /// <summary>Age of the oldest batch waiting for the broker.</summary>
    public TimeSpan OldestAge
    {
        get
        {
            long oldest;
            lock (_gate)
            {
                oldest = long.MaxValue;
                if (_readsQueue.TryOldest(out var r))
                {
                    oldest = r.CreatedUs;
                }

                if (_presenceQueue.TryOldest(out var p))
                {
                    oldest = Math.Min(oldest, p.CreatedUs);
                }
            }

            if (oldest == long.MaxValue)
            {
                return TimeSpan.Zero;
            }

            var age = EventTimes.NowUs(_time) - oldest;
            return age <= 0 ? TimeSpan.Zero : TimeSpan.FromMicroseconds(age);
        }
    }

    /// <summary>The last storage error, or null when the last commit succeeded.</summary>
    public string? LastError => _lastError;

    /// <summary>True while the writer runs.</summary>
    public bool IsRunning => !_writer.IsCompleted;

    /// <summary>Highest sequence handed out so far.</summary>
    public ulong LastSequence => Interlocked.Read(ref _nextSeq) - 1;

    private OutboxIndex Recover()
    {
        void Warn(string m) => _logger.LogWarning("Outbox recovery: {Message}", m);

        var index = OutboxIndex.Open(_storage, Warn, out var indexed);
        var fresh = new List<RecordInfo>();
        foreach (var log in new[] { _readsLog, _presenceLog })
        {
            var through = index.WasRebuilt ? null : index.IndexedThrough(log.Class);
            var (seg, off) = through ?? (0UL, 0L);
            fresh.AddRange(log.Recover(seg, off, Warn));
        }

        ulong maxSeq = 0;
        var removed = new List<ulong>();
        foreach (var r in indexed)
        {
            var log = LogFor(r.Class);
            if (!log.SegmentIds.Contains(r.SegmentId))
            {
                // Its segment was released (all acknowledged) or given up after the index was written.
                removed.Add(r.Sequence);
                continue;
            }

            QueueFor(r.Class).Add(r);
            maxSeq = Math.Max(maxSeq, r.Sequence);
        }

        var added = new List<RecordInfo>();
        foreach (var r in fresh)
        {
            var q = QueueFor(r.Class);
            if (!q.Contains(r.Sequence))
            {
                q.Add(r);
                added.Add(r);
            }

            maxSeq = Math.Max(maxSeq, r.Sequence);
        }

        // A sequence must never be handed out twice: the cloud would drop the second batch as a
        // redelivery. Segment names carry the next sequence at their creation, so they bound it
        // even when every record has been released.
        _nextSeq = Math.Max(Math.Max(maxSeq + 1, index.NextSequence), Math.Max(_readsLog.HighestSegmentBase, _presenceLog.HighestSegmentBase));
        _nextSeq = Math.Max(_nextSeq, 1);

        foreach (var log in new[] { _readsLog, _presenceLog })
        {
            log.EnsureActive(_nextSeq);
            var q = QueueFor(log.Class);
            foreach (var id in log.SegmentIds.ToList())
            {
                if (id != log.ActiveSegmentId && !q.HasLive(id))
                {
                    log.DeleteSegment(id);
                }
            }
        }

        try
        {
            index.Apply(added, removed, IndexedThrough(), _nextSeq);
        }
        catch (Exception ex) when (ex is IOException or LiteDB.LiteException)
        {
            // A full disk must not keep the daemon from starting: the logs hold everything, and the
            // writer reopens and rewrites the index once it can be written.
            _logger.LogWarning("Outbox recovery: the index could not be updated ({Error}); it will be rewritten later.", ex.Message);
            _unindexed.AddRange(added);
            _unindexedRemovals.AddRange(removed);
            _indexBroken = true;
        }
        if (added.Count > 0 || removed.Count > 0 || _readsQueue.Batches + _presenceQueue.Batches > 0)
        {
            _logger.LogInformation(
                "Outbox opened: {Reads} reads and {Events} events in {Batches} batches waiting for the broker ({Recovered} batches re-indexed from the logs), next sequence {Next}.",
                _readsQueue.Records, _presenceQueue.Records, _readsQueue.Batches + _presenceQueue.Batches, added.Count, _nextSeq);
        }

        return index;
    }

    private List<(DataClass, ulong, long)> IndexedThrough() =>
    [
        (DataClass.Reads, _readsLog.ActiveSegmentId, _readsLog.SegmentEnd(_readsLog.ActiveSegmentId)),
        (DataClass.Presence, _presenceLog.ActiveSegmentId, _presenceLog.SegmentEnd(_presenceLog.ActiveSegmentId)),
    ];

    private SegmentLog LogFor(DataClass c) => c == DataClass.Presence ? _presenceLog : _readsLog;

    private ClassQueue QueueFor(DataClass c) => c == DataClass.Presence ? _presenceQueue : _readsQueue;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void SignalChanged()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = NewSignal();
        }

        old.TrySetResult();
    }

    /// <summary>Completes the writer after committing what was appended, then closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _ingest.Writer.TryComplete();
        _wake.Release();
        try
        {
            await _writer.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "The outbox writer stopped with an error.");
        }

        _readsLog.Dispose();
        _presenceLog.Dispose();
        _index.Dispose();
        _wake.Dispose();
        SignalChanged();
    }

    private readonly record struct IngestItem(TagRead[]? Reads, PresenceEvent[]? Events, int Count, TaskCompletionSource? Flush);
}
