using System.Diagnostics;
using System.Diagnostics.Metrics;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.Io;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Engine;

/// <summary>
/// Runs a job over the partitions assigned to this instance: one task and one loop per partition, each
/// restored from the partition's latest checkpoint in the shared store and reading the log from the
/// offset that checkpoint names. Partitions come and go with <see cref="AssignAsync"/> and
/// <see cref="RevokeAsync"/>, which is how a consumer group's rebalances (or a coordinator of the
/// embedded log) move work and state between instances.
/// </summary>
public sealed partial class StreamRunner<TEvent, TKey, TState, TOutput> : IAsyncDisposable
    where TEvent : struct
    where TKey : notnull, IEquatable<TKey>
    where TState : struct
{
    /// <summary>Name of the meter the engine's metrics are published on.</summary>
    public const string MeterName = "EdgeStream.Engine";

    private readonly StreamJob<TEvent, TKey, TState, TOutput> _job;
    private readonly EngineOptions _options;
    private readonly IPartitionedSource _source;
    private readonly IOutputSink<TKey, TOutput> _sink;
    private readonly ISideOutput _side;
    private readonly ICheckpointStore _store;
    private readonly TimeProvider _clock;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _log;
    private readonly Dictionary<int, Worker> _workers = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Meter _meter;

    /// <summary>Creates a runner; validates the options (throws naming the bad key).</summary>
    public StreamRunner(
        StreamJob<TEvent, TKey, TState, TOutput> job,
        EngineOptions options,
        IPartitionedSource source,
        IOutputSink<TKey, TOutput> sink,
        ISideOutput sideOutput,
        ICheckpointStore checkpoints,
        TimeProvider? clock = null,
        ILoggerFactory? loggers = null,
        string? name = null)
    {
        _job = job;
        Name = string.IsNullOrWhiteSpace(name) ? job.GetType().Name : name;
        _options = options.Validate();
        _source = source;
        _sink = sink;
        _side = sideOutput;
        _store = checkpoints;
        _clock = clock ?? TimeProvider.System;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _log = _loggers.CreateLogger("EdgeStream.Engine.StreamRunner");
        _meter = new Meter(MeterName);
        CreateInstruments();
    }

    /// <summary>The job's name in metrics (tag <c>job</c>) and logs.</summary>
    public string Name { get; }

    /// <summary>Partitions this instance runs now.</summary>
    public IReadOnlyCollection<int> Assigned
    {
        get
        {
            lock (_workers)
            {
                return [.. _workers.Keys.Order()];
            }
        }
    }

    /// <summary>
    /// Starts the given partitions (those not already running): restores each from its latest valid
    /// checkpoint, or starts it empty at offset 0 when it has none.
    /// </summary>
    public async Task AssignAsync(IEnumerable<int> partitions, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            foreach (var p in partitions)
            {
                if (p < 0 || p >= _source.PartitionCount)
                {
                    throw new ArgumentOutOfRangeException(nameof(partitions), p, $"Partition {p} is outside 0..{_source.PartitionCount - 1}.");
                }

                lock (_workers)
                {
                    if (_workers.ContainsKey(p))
                    {
                        continue;
                    }
                }

                var started = Stopwatch.GetTimestamp();
                var task = new StreamTask<TEvent, TKey, TState, TOutput>(_job, _options, p, _sink, _side, _clock, _loggers.CreateLogger("EdgeStream.Engine.StreamTask"));
                var data = await _store.LoadLatestAsync(p, cancellationToken);
                if (data is not null)
                {
                    task.Restore(data.Payload);
                }

                var lastId = await _store.HighestIdAsync(p, cancellationToken);
                var reader = _source.OpenReader(p, task.NextOffset);
                var worker = new Worker(this, task, reader, lastId, data?.CheckpointId ?? 0);
                lock (_workers)
                {
                    _workers.Add(p, worker);
                }

                worker.Start();
                LogAssigned(_log, p, data?.CheckpointId ?? 0, task.NextOffset, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stops the given partitions gracefully: each loop stops between batches, takes a final checkpoint
    /// and closes its reader, so the next owner resumes exactly there.
    /// </summary>
    public async Task RevokeAsync(IEnumerable<int> partitions, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            foreach (var p in partitions)
            {
                Worker? worker;
                lock (_workers)
                {
                    _workers.Remove(p, out worker);
                }

                if (worker is not null)
                {
                    await worker.StopAsync(finalCheckpoint: true, cancellationToken);
                    LogRevoked(_log, p, worker.Task.NextOffset);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Completes when every assigned partition has read its sealed end and taken its final checkpoint (bounded input).</summary>
    public Task WhenAllEndedAsync()
    {
        lock (_workers)
        {
            return Task.WhenAll(_workers.Values.Select(w => w.Ended.Task));
        }
    }

    /// <summary>Asks a partition's loop for a checkpoint now; completes with its id when it is stored.</summary>
    public Task<long> CheckpointNowAsync(int partition)
    {
        Worker? w;
        lock (_workers)
        {
            _workers.TryGetValue(partition, out w);
        }

        return w is null
            ? Task.FromException<long>(new InvalidOperationException($"Partition {partition} is not assigned to this instance."))
            : w.RequestCheckpoint();
    }

    /// <summary>Where each assigned partition stands: watermark, lag, keys, counters, checkpoints.</summary>
    public IReadOnlyList<PartitionStatus> Status()
    {
        lock (_workers)
        {
            return [.. _workers.Values.Select(w => w.Published).OrderBy(s => s.Partition)];
        }
    }

    /// <summary>The instance's watermark: the minimum over its partitions' watermarks.</summary>
    public long Watermark
    {
        get
        {
            var s = Status();
            return s.Count == 0 ? long.MinValue : s.Min(x => x.Watermark);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await RevokeAsync(Assigned, CancellationToken.None);
        _meter.Dispose();
        _gate.Dispose();
    }

    private void CreateInstruments()
    {
        IEnumerable<Measurement<long>> Each(Func<PartitionStatus, long> pick) =>
            Status().Select(s => new Measurement<long>(
                pick(s),
                new KeyValuePair<string, object?>("job", Name),
                new KeyValuePair<string, object?>("partition", s.Partition)));

        _meter.CreateObservableGauge("edgestream.engine.watermark", () => Each(s => s.Watermark), "us", "Event-time watermark per partition");
        _meter.CreateObservableGauge("edgestream.engine.watermark.lag", () => Each(s => s.WatermarkLagMs), "ms", "Wall clock minus watermark per partition");
        _meter.CreateObservableGauge("edgestream.engine.offset.lag", () => Each(s => s.OffsetLag), "{record}", "Records in the log not yet read per partition");
        _meter.CreateObservableGauge("edgestream.engine.keys", () => Each(s => s.Keys), "{key}", "Keys with state per partition");
        _meter.CreateObservableGauge("edgestream.engine.buffered", () => Each(s => s.BufferedEvents), "{event}", "Events waiting for the watermark per partition");
        _meter.CreateObservableCounter("edgestream.engine.events", () => Each(s => s.Events), "{event}", "Events read per partition");
        _meter.CreateObservableCounter("edgestream.engine.late", () => Each(s => s.Late), "{event}", "Events sent to the late side output per partition");
        _meter.CreateObservableCounter("edgestream.engine.malformed", () => Each(s => s.Malformed), "{record}", "Undecodable records per partition");
        _meter.CreateObservableCounter("edgestream.engine.duplicates", () => Each(s => s.Duplicates), "{event}", "Duplicate events dropped per partition");
        _meter.CreateObservableCounter("edgestream.engine.outputs", () => Each(s => s.Outputs), "{output}", "Outputs emitted per partition");
        _meter.CreateObservableCounter("edgestream.engine.checkpoints", () => Each(s => s.CheckpointsCompleted), "{checkpoint}", "Completed checkpoints per partition");
        _meter.CreateObservableCounter("edgestream.engine.checkpoints.failed", () => Each(s => s.CheckpointsFailed), "{checkpoint}", "Failed checkpoints per partition");
        _meter.CreateObservableGauge("edgestream.engine.checkpoint.pause", () => Each(s => (long)s.LastCheckpointPause.TotalMicroseconds), "us", "Processing pause of the last checkpoint");
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Partition {Partition} assigned: restored checkpoint {CheckpointId}, reading from offset {Offset} ({Millis:F0} ms)")]
    private static partial void LogAssigned(ILogger logger, int partition, long checkpointId, long offset, double millis);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "Partition {Partition} revoked at offset {Offset}")]
    private static partial void LogRevoked(ILogger logger, int partition, long offset);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Error, Message = "Checkpoint {CheckpointId} of partition {Partition} failed; the previous one stays current")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception, int partition, long checkpointId);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Critical, Message = "Partition {Partition} stopped on an error; it resumes from its last checkpoint when assigned again")]
    private static partial void LogFaulted(ILogger logger, Exception exception, int partition);

    /// <summary>One partition's loop: read a batch, process it, look at the clocks, checkpoint when due.</summary>
    private sealed class Worker
    {
        private readonly StreamRunner<TEvent, TKey, TState, TOutput> _runner;
        private readonly IPartitionReader _reader;
        private readonly CancellationTokenSource _stop = new();
        private readonly SnapshotWriter _writer = new();
        private Task? _loop;
        private Task? _inflight;
        private long _lastId;
        private long _nextCheckpointAtUs;
        private long _pendingCommit = -1;
        private long _checkpointedOffset;
        private readonly long _restoredId;
        private readonly long _restoredOffset;
        private TaskCompletionSource<long>? _requested;
        private (TaskSnapshot<TEvent, TKey, TState> Snapshot, long Id, TaskCompletionSource<long>? Requested)? _copyPending;
        private long _completed;
        private long _failed;
        private long _lastCompletedId;
        private TimeSpan _lastPause;
        private TimeSpan _lastDuration;
        private bool _ended;
        private bool _faulted;

        public Worker(StreamRunner<TEvent, TKey, TState, TOutput> runner, StreamTask<TEvent, TKey, TState, TOutput> task, IPartitionReader reader, long lastId, long restoredId)
        {
            _runner = runner;
            Task = task;
            _reader = reader;
            _lastId = lastId;
            _restoredId = restoredId;
            _restoredOffset = task.NextOffset;
            _checkpointedOffset = task.NextOffset;
            Published = Snapshot();
        }

        public StreamTask<TEvent, TKey, TState, TOutput> Task { get; }

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public PartitionStatus Published { get; private set; }

        public void Start()
        {
            _nextCheckpointAtUs = NowUs() + (long)_runner._options.CheckpointInterval.TotalMicroseconds;
            _loop = System.Threading.Tasks.Task.Run(() => RunAsync(_stop.Token));
        }

        public Task<long> RequestCheckpoint()
        {
            var tcs = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var previous = Interlocked.Exchange(ref _requested, tcs);
            if (previous is not null)
            {
                // Two requests before the loop got to either: one checkpoint answers both.
                _ = tcs.Task.ContinueWith(
                    t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            previous.TrySetResult(t.Result);
                        }
                        else
                        {
                            previous.TrySetException(t.Exception?.InnerExceptions ?? [new OperationCanceledException()]);
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }

            return tcs.Task;
        }

        public async Task StopAsync(bool finalCheckpoint, CancellationToken cancellationToken)
        {
            await _stop.CancelAsync();
            if (_loop is not null)
            {
                await _loop;
            }

            if (_inflight is not null)
            {
                await _inflight;
            }

            if (finalCheckpoint && !_faulted)
            {
                await FinishPendingCopyAsync();
                Checkpoint(chunk: 0);
                await _inflight!;
            }

            // The loop has stopped, so the last completed checkpoint's commit is made here.
            var commit = Interlocked.Exchange(ref _pendingCommit, -1);
            if (commit >= 0)
            {
                await _reader.CommitAsync(commit, cancellationToken);
            }

            Interlocked.Exchange(ref _requested, null)?.TrySetException(
                new InvalidOperationException($"Partition {Task.Partition} stopped before the requested checkpoint."));

            await _reader.DisposeAsync();
            _writer.Dispose();
            _stop.Dispose();
        }

        private async Task RunAsync(CancellationToken ct)
        {
            var options = _runner._options;
            var batch = new RecordBatch(options.ReadBatchSize);
            try
            {
                while (!ct.IsCancellationRequested && !_ended)
                {
                    var status = await _reader.ReadAsync(batch, WaitAtMost(options.PollInterval), ct);
                    Task.TickClock();
                    Task.ProcessRecords(batch);

                    Task.OnClock(caughtUp: status != ReadStatus.Records);
                    if (status == ReadStatus.Ended)
                    {
                        Task.EndOfInput();
                        _ended = true;
                    }

                    var commit = Interlocked.Exchange(ref _pendingCommit, -1);
                    if (commit >= 0)
                    {
                        await _reader.CommitAsync(commit, ct);
                    }

                    if (_copyPending is { } pending && Task.ContinueCheckpointCopy(_runner._options.CheckpointCopyChunk))
                    {
                        _copyPending = null;
                        Launch(pending.Snapshot, pending.Id, pending.Requested);
                    }

                    var due = Volatile.Read(ref _requested) is not null || NowUs() >= _nextCheckpointAtUs;
                    if (due && _copyPending is null && (_inflight is null || _inflight.IsCompleted))
                    {
                        Checkpoint(_runner._options.CheckpointCopyChunk);
                        _nextCheckpointAtUs = NowUs() + (long)options.CheckpointInterval.TotalMicroseconds;
                    }

                    Published = Snapshot();
                }

                if (_ended)
                {
                    // The final checkpoint records the end, so a restart does not replay the tail again.
                    await FinishPendingCopyAsync();
                    if (_inflight is not null)
                    {
                        await _inflight;
                    }

                    Checkpoint(chunk: 0);
                    await _inflight!;
                    Published = Snapshot();
                    Ended.TrySetResult();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                _faulted = true;
                LogFaulted(_runner._log, ex, Task.Partition);
                Published = Snapshot();
                Ended.TrySetException(ex);
            }
        }

        private async Task FinishPendingCopyAsync()
        {
            if (_copyPending is { } pending)
            {
                Task.ContinueCheckpointCopy(int.MaxValue);
                _copyPending = null;
                Launch(pending.Snapshot, pending.Id, pending.Requested);
                await _inflight!;
            }
        }

        /// <summary>Takes a barrier; the copy of keyed state proceeds in steps of <paramref name="chunk"/> entries between batches (0: at once).</summary>
        private void Checkpoint(int chunk)
        {
            var id = ++_lastId;
            var snapshot = Task.BeginCheckpoint(id, chunk);
            var requested = Interlocked.Exchange(ref _requested, null);
            if (!snapshot.IsComplete)
            {
                _copyPending = (snapshot, id, requested);
                return;
            }

            Launch(snapshot, id, requested);
        }

        private void Launch(TaskSnapshot<TEvent, TKey, TState> snapshot, long id, TaskCompletionSource<long>? requested)
        {
            _lastPause = snapshot.LongestStep;
            _inflight = System.Threading.Tasks.Task.Run(async () =>
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    _writer.Reset();
                    Task.WriteCheckpoint(snapshot, _writer);
                    var nextOffset = snapshot.NextOffset;
                    Task.ReleaseSnapshot(snapshot);

                    // Outputs before the barrier are never emitted again after a restore: make them durable first.
                    if (_runner._sink is ITransactionalOutputSink<TKey, TOutput> transactional)
                    {
                        await transactional.CommitAsync(Task.Partition, nextOffset, CancellationToken.None);
                    }
                    else
                    {
                        await _runner._sink.FlushAsync(CancellationToken.None);
                    }
                    await _runner._side.FlushAsync(CancellationToken.None);
                    await _runner._store.SaveAsync(Task.Partition, id, _writer.WrittenMemory, CancellationToken.None);
                    _lastDuration = Stopwatch.GetElapsedTime(started);
                    Interlocked.Increment(ref _completed);
                    Interlocked.Exchange(ref _lastCompletedId, id);
                    Interlocked.Exchange(ref _pendingCommit, nextOffset);
                    Interlocked.Exchange(ref _checkpointedOffset, nextOffset);
                    requested?.TrySetResult(id);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _failed);
                    LogCheckpointFailed(_runner._log, ex, Task.Partition, id);
                    requested?.TrySetException(ex);
                }
            });
        }

        private PartitionStatus Snapshot()
        {
            var c = Task.Counters;
            var wm = Task.Watermark;
            var end = _reader.EndOffset;
            var now = NowUs();
            return new PartitionStatus
            {
                Partition = Task.Partition,
                Watermark = wm,
                WatermarkLagMs = wm == long.MinValue || wm == long.MaxValue ? 0 : Math.Max(0, (now - wm) / 1000),
                NextOffset = Task.NextOffset,
                CheckpointedOffset = Interlocked.Read(ref _checkpointedOffset),
                EndOffset = end,
                OffsetLag = end < 0 ? 0 : Math.Max(0, end - Task.NextOffset),
                Keys = Task.KeyCount,
                BufferedEvents = Task.BufferedEvents,
                Timers = Task.TimerCount,
                Events = c.Events,
                Processed = c.Processed,
                Late = c.Late,
                LateAccepted = c.LateAccepted,
                Behind = c.Behind,
                Malformed = c.Malformed,
                Duplicates = c.Duplicates,
                Outputs = c.Outputs,
                CheckpointsCompleted = Interlocked.Read(ref _completed),
                CheckpointsFailed = Interlocked.Read(ref _failed),
                LastCheckpointId = Interlocked.Read(ref _lastCompletedId),
                RestoredCheckpointId = _restoredId,
                RestoredOffset = _restoredOffset,
                LastCheckpointPause = _lastPause,
                LastCheckpointDuration = _lastDuration,
                Ended = _ended,
                Faulted = _faulted,
                Sources = Task.Sources(),
            };
        }

        private long NowUs() => _runner._clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

        /// <summary>
        /// How long a read may wait for records: the poll interval, or less when a processing-time timer
        /// falls due sooner, so quiet input does not hold a timer back by up to a poll interval.
        /// </summary>
        private TimeSpan WaitAtMost(TimeSpan pollInterval)
        {
            var next = Task.NextProcessingTimerUs;
            if (next == long.MaxValue)
            {
                return pollInterval;
            }

            // The task's clock counts whole milliseconds: wake at the first one at or after the timer.
            var untilUs = next - NowUs();
            var wait = TimeSpan.FromMilliseconds(Math.Max(1, (untilUs + 999) / 1000));
            return wait < pollInterval ? wait : pollInterval;
        }
    }
}

/// <summary>Where one partition stands, as published by its loop after each batch.</summary>
public sealed record PartitionStatus
{
    public int Partition { get; init; }

    /// <summary>Event-time watermark (µs since the epoch; <see cref="long.MinValue"/> before any event).</summary>
    public long Watermark { get; init; }

    /// <summary>Wall clock minus watermark, in milliseconds.</summary>
    public long WatermarkLagMs { get; init; }

    public long NextOffset { get; init; }

    /// <summary>The offset the last completed checkpoint resumes from (what a restart would read again from).</summary>
    public long CheckpointedOffset { get; init; }

    public long EndOffset { get; init; }

    /// <summary>Records in the log not yet read.</summary>
    public long OffsetLag { get; init; }

    public int Keys { get; init; }

    public int BufferedEvents { get; init; }

    public int Timers { get; init; }

    public long Events { get; init; }

    public long Processed { get; init; }

    public long Late { get; init; }

    public long LateAccepted { get; init; }

    public long Behind { get; init; }

    public long Malformed { get; init; }

    public long Duplicates { get; init; }

    public long Outputs { get; init; }

    public long CheckpointsCompleted { get; init; }

    public long CheckpointsFailed { get; init; }

    public long LastCheckpointId { get; init; }

    /// <summary>The checkpoint this worker restored the partition from when it was assigned (0: none, started from the log's start).</summary>
    public long RestoredCheckpointId { get; init; }

    /// <summary>The log offset the partition resumed at when it was assigned.</summary>
    public long RestoredOffset { get; init; }

    public TimeSpan LastCheckpointPause { get; init; }

    public TimeSpan LastCheckpointDuration { get; init; }

    public bool Ended { get; init; }

    public bool Faulted { get; init; }

    public IReadOnlyList<SourceInfo> Sources { get; init; } = [];
}
