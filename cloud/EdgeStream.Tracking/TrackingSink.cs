using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace EdgeStream.Tracking;

/// <summary>How the tracking job's outputs are written to the store.</summary>
public sealed record TrackingSinkOptions
{
    /// <summary>Longest time an output waits before it is written (the API sees it then).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Outputs written in one transaction at most.</summary>
    public int MaxBatch { get; init; } = 5_000;

    /// <summary>
    /// Outputs that may wait for the store. When the store is down and this many wait, the job's
    /// threads block in <c>Write</c>: the job pauses and the log holds everything not yet processed.
    /// </summary>
    public int MaxPending { get; init; } = 200_000;

    /// <summary>Longest back-off between two tries of a failed write.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public TrackingSinkOptions Validate()
    {
        if (FlushInterval <= TimeSpan.Zero || FlushInterval > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentException($"Tracking:FlushInterval = {FlushInterval} is invalid; allowed: above 0 up to 10 s.", nameof(FlushInterval));
        }

        if (MaxBatch is < 1 or > 1_000_000)
        {
            throw new ArgumentException($"Tracking:MaxBatch = {MaxBatch} is invalid; allowed: 1..1000000.", nameof(MaxBatch));
        }

        if (MaxPending < MaxBatch)
        {
            throw new ArgumentException($"Tracking:MaxPending = {MaxPending} is invalid; allowed: at least Tracking:MaxBatch ({MaxBatch}).", nameof(MaxPending));
        }

        if (MaxRetryDelay < TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentException($"Tracking:MaxRetryDelay = {MaxRetryDelay} is invalid; allowed: 10 ms or more.", nameof(MaxRetryDelay));
        }

        return this;
    }
}

/// <summary>
/// Carries the tracking job's outputs and late side records into an <see cref="ITrackingStore"/>: a
/// background writer takes whatever is pending every <see cref="TrackingSinkOptions.FlushInterval"/> and
/// applies it in one transaction, retrying with back-off (Polly) while the database is down.
/// <see cref="FlushAsync"/> (the engine's checkpoint) completes once everything written before it is
/// committed, so a checkpoint never covers an output the store does not hold.
/// </summary>
public sealed partial class TrackingSink : IOutputSink<Epc, TrackingOutput>, ISideOutput, IAsyncDisposable
{
    /// <summary>Name of the meter of the tracking metrics.</summary>
    public const string MeterName = "EdgeStream.Tracking";

    private readonly ITrackingStore _store;
    private readonly NameTable _zones;
    private readonly NameTable _gateways;
    private readonly TrackingSinkOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _clock;
    private readonly ResiliencePipeline _retry;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _writeMs;
    private readonly Counter<long> _written;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _late;
    private readonly Counter<long> _malformed;
    private readonly Task _writer;
    private List<PlacementRecord> _placements = [];
    private Dictionary<string, SightingRecord> _sightings = new(StringComparer.Ordinal);
    private List<LateRecord> _lateRecords = [];
    private List<WorkflowRecord> _workflow = [];
    private List<ScanRecord> _scans = [];
    private long _accepted;
    private long _committed;
    private string? _lastError;
    private long _lastWriteUs;
    private readonly List<(long Mark, TaskCompletionSource Done)> _waiters = [];
    private readonly CommitSignal? _committedSignal;
    private bool _wakePending;

    /// <summary>Starts the writer.</summary>
    public TrackingSink(ITrackingStore store, NameTable zones, NameTable gateways, TrackingSinkOptions? options = null, ILogger? logger = null, TimeProvider? clock = null, CommitSignal? committed = null)
    {
        _committedSignal = committed;
        _store = store;
        _zones = zones;
        _gateways = gateways;
        _options = (options ?? new TrackingSinkOptions()).Validate();
        _log = logger ?? NullLogger.Instance;
        _clock = clock ?? TimeProvider.System;
        _writeMs = _meter.CreateHistogram<double>("edgestream.tracking.db.write", "ms", "Time to commit one batch of tracking outputs to the database");
        _written = _meter.CreateCounter<long>("edgestream.tracking.db.rows", "{row}", "Tracking outputs committed to the database");
        _failures = _meter.CreateCounter<long>("edgestream.tracking.db.failures", "{attempt}", "Failed database writes (each retried)");
        _late = _meter.CreateCounter<long>("edgestream.tracking.late", "{event}", "Events later than the allowed lateness, kept in history and in the late list");
        _malformed = _meter.CreateCounter<long>("edgestream.tracking.malformed", "{record}", "Log records the tracking job could not decode");
        _meter.CreateObservableGauge("edgestream.tracking.db.pending", () => Pending, "{row}", "Outputs waiting to be written to the database");
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = _options.MaxRetryDelay,
            OnRetry = args =>
            {
                _failures.Add(1);
                Volatile.Write(ref _lastError, args.Outcome.Exception?.Message);
                LogWriteFailed(_log, args.Outcome.Exception, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds);
                return ValueTask.CompletedTask;
            },
        }).Build();
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Outputs accepted and not yet committed.</summary>
    public long Pending
    {
        get
        {
            lock (_lock)
            {
                return _accepted - _committed;
            }
        }
    }

    /// <summary>The last write error while the store is failing; null once a write succeeded.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>When the last write committed (µs since the epoch; 0 before any).</summary>
    public long LastWriteUs => Interlocked.Read(ref _lastWriteUs);

    /// <summary>Outputs committed since start.</summary>
    public long Committed
    {
        get
        {
            lock (_lock)
            {
                return _committed;
            }
        }
    }

    /// <inheritdoc />
    public void Write(in Output<Epc, TrackingOutput> output)
    {
        var o = output.Value;
        var epc = output.Key.ToString();
        var gateway = _gateways.NameOf(o.Gateway) ?? string.Empty;
        lock (_lock)
        {
            WaitForRoom();
            if (o.Kind == TrackingOutputKind.Placement)
            {
                _placements.Add(new PlacementRecord(epc, _zones.NameOf(o.Zone), _zones.NameOf(o.Left), o.TimeUs, gateway, EventId(gateway, o.Sequence, o.Index), o.Late, output.Id.ToString()));

                // A move is what live screens wait for: write it now (group commit: what comes in while a
                // write runs goes in the next one). Sightings wait for the flush interval.
                WakeOnce();
            }
            else if (o.Kind == TrackingOutputKind.Workflow && o.Step is { } step)
            {
                _workflow.Add(Record(epc, step, output.Id.ToString()));
                WakeOnce();
            }
            else if (o.Kind == TrackingOutputKind.Scan && o.Scan is { } scan)
            {
                _scans.Add(new ScanRecord(epc, _zones.NameOf(o.Zone) ?? string.Empty, scan.By, scan.Reason, o.TimeUs, gateway, EventId(gateway, o.Sequence, o.Index), scan.ClientId));
            }
            else if (!_sightings.TryGetValue(epc, out var s) || s.TimeUs < o.TimeUs)
            {
                _sightings[epc] = new SightingRecord(epc, o.TimeUs, gateway);
            }

            _accepted++;
            if (_placements.Count + _sightings.Count >= _options.MaxBatch)
            {
                WakeOnce();
            }
        }
    }

    /// <summary>Accepts a workflow or rule step made outside the tracking job (the zone stage's alerts); committed with the next batch.</summary>
    public void Write(WorkflowRecord record)
    {
        lock (_lock)
        {
            WaitForRoom();
            _workflow.Add(record);
            WakeOnce();
            _accepted++;
        }
    }

    /// <inheritdoc />
    public void Write(SideRecord record)
    {
        if (record.Reason != SideReason.Late)
        {
            _malformed.Add(1);
            LogMalformed(_log, record.Partition, record.Offset, record.Detail);
            return;
        }

        LogEntry entry;
        try
        {
            entry = LogRecordCodec.Decode(record.Value);
        }
        catch (WireFormatException ex)
        {
            _malformed.Add(1);
            LogMalformed(_log, record.Partition, record.Offset, ex.Message);
            return;
        }

        if (entry.Class == DataClass.Mark)
        {
            return; // a late watermark mark says nothing the job has not heard since
        }

        _late.Add(1);
        var epc = entry.Epc.ToString();
        var eventId = EventId(entry.GatewayId, entry.Sequence, entry.Index);
        var presence = entry.Class == DataClass.Presence;
        var manual = entry.Class == DataClass.Manual;
        var kind = presence ? entry.Presence.Kind.ToString().ToLowerInvariant() : manual ? "manual-" + entry.Manual.Kind.ToString().ToLowerInvariant() : "read";
        var zone = presence ? entry.Presence.Zone : manual ? entry.Manual.Zone : null;
        lock (_lock)
        {
            WaitForRoom();
            _lateRecords.Add(new LateRecord(record.Partition, record.Offset, epc, entry.GatewayId, kind, zone, entry.CorrectedTimeUs, record.Watermark, record.Detail, eventId));

            // Later than the allowed lateness is still where the tag was: history gets it in its place
            // (a late manual action is kept in the late records only: it cannot rewind a workflow).
            if (presence)
            {
                var departure = entry.Presence.Kind == PresenceKind.Depart;
                _placements.Add(new PlacementRecord(epc, departure ? null : entry.Presence.Zone, departure ? entry.Presence.Zone : null, entry.CorrectedTimeUs, entry.GatewayId, eventId, true, $"late-{record.Partition}-{record.Offset}"));
            }
            else if (manual)
            {
                if (entry.Manual.Zone is not null)
                {
                    _placements.Add(new PlacementRecord(epc, entry.Manual.Zone, null, entry.CorrectedTimeUs, entry.GatewayId, eventId, true, $"late-{record.Partition}-{record.Offset}"));
                }
            }
            else if (!_sightings.TryGetValue(epc, out var s) || s.TimeUs < entry.CorrectedTimeUs)
            {
                _sightings[epc] = new SightingRecord(epc, entry.CorrectedTimeUs, entry.GatewayId);
            }

            _accepted++;
        }
    }

    /// <inheritdoc />
    public Task FlushAsync(CancellationToken cancellationToken) => WhenCommittedAsync(cancellationToken);

    ValueTask IOutputSink<Epc, TrackingOutput>.FlushAsync(CancellationToken cancellationToken) => new(WhenCommittedAsync(cancellationToken));

    ValueTask ISideOutput.FlushAsync(CancellationToken cancellationToken) => new(WhenCommittedAsync(cancellationToken));

    /// <summary>Writes what is pending and stops the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        try
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await WhenCommittedAsync(bounded.Token);
        }
        catch (OperationCanceledException)
        {
            LogUnwritten(_log, Pending);
        }

        await _stop.CancelAsync();
        _wake.Release();
        try
        {
            await _writer;
        }
        catch (OperationCanceledException)
        {
        }

        _meter.Dispose();
        _stop.Dispose();
    }

    /// <summary>A workflow or rule step as the store applies it (the zone stage's alert steps too).</summary>
    internal static WorkflowRecord Record(string epc, WorkflowStep step, string outputId) => step.What switch
    {
        StateChanged c => new WorkflowRecord(epc, step.WorkflowId, step.Version, WorkflowRecordKind.StateChanged, c.AtUs, c.To, c.From, c.Cause, null, null, null, outputId),
        AlertRaised a => new WorkflowRecord(epc, step.WorkflowId, step.Version, WorkflowRecordKind.AlertRaised, a.AtUs, NullIfEmpty(a.State), null, null, a.AlertId, a.Severity.ToString().ToLowerInvariant(), a.Message, outputId) { Rule = step.Rule },
        AlertCleared c => new WorkflowRecord(epc, step.WorkflowId, step.Version, WorkflowRecordKind.AlertCleared, c.AtUs, NullIfEmpty(c.State), null, c.Reason ?? "left " + c.State, c.AlertId, null, null, outputId) { Rule = step.Rule },
        _ => throw new InvalidOperationException($"unknown workflow output {step.What.GetType().Name}"),
    };

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    private static string EventId(string gateway, ulong sequence, int index) => PlacementRecord.EventIdOf(gateway, sequence, index);

    private Task WhenCommittedAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_lock)
        {
            if (_committed >= _accepted)
            {
                return Task.CompletedTask;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((_accepted, done));
        }

        _wake.Release();
        return done.Task.WaitAsync(cancellationToken);
    }

    private void WakeOnce()
    {
        // Called holding _lock. One wake-up per batch taken, however many outputs ask for it.
        if (!_wakePending)
        {
            _wakePending = true;
            _wake.Release();
        }
    }

    private void WaitForRoom()
    {
        // Called holding _lock. Blocking here pauses the engine's task: the log is the buffer.
        while (_accepted - _committed >= _options.MaxPending && !_stop.IsCancellationRequested)
        {
            _wake.Release();
            _lock.Exit();
            try
            {
                Thread.Sleep(5);
            }
            finally
            {
                _lock.Enter();
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_options.FlushInterval, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            while (true)
            {
                TrackingBatch batch;
                long mark;
                lock (_lock)
                {
                    _wakePending = false;
                    if (_placements.Count == 0 && _sightings.Count == 0 && _lateRecords.Count == 0 && _workflow.Count == 0 && _scans.Count == 0)
                    {
                        _committed = _accepted;
                        Release();
                        break;
                    }

                    batch = new TrackingBatch(_placements, [.. _sightings.Values], _lateRecords) { Workflow = _workflow, Scans = _scans };
                    mark = _accepted;
                    _workflow = [];
                    _scans = [];
                    _placements = [];
                    _sightings = new Dictionary<string, SightingRecord>(StringComparer.Ordinal);
                    _lateRecords = [];
                }

                var started = Stopwatch.GetTimestamp();
                try
                {
                    await _retry.ExecuteAsync(async token => await _store.ApplyAsync(batch, token), ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                _writeMs.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                _written.Add(batch.Count);
                Volatile.Write(ref _lastError, null);
                Interlocked.Exchange(ref _lastWriteUs, EventTimes.NowUs(_clock));
                lock (_lock)
                {
                    _committed = Math.Max(_committed, mark);
                    Release();
                }

                _committedSignal?.Pulse();
            }
        }
    }

    private void Release()
    {
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Mark <= _committed)
            {
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }

    [LoggerMessage(EventId = 8101, Level = LogLevel.Warning, Message = "Writing tracking outputs to the database failed (attempt {Attempt}); retrying in {DelayMs:F0} ms, the job pauses when the backlog is full")]
    private static partial void LogWriteFailed(ILogger logger, Exception? exception, int attempt, double delayMs);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Error, Message = "Log record {Partition}@{Offset} is not a tracking event: {Detail}")]
    private static partial void LogMalformed(ILogger logger, int partition, long offset, string detail);

    [LoggerMessage(EventId = 8103, Level = LogLevel.Warning, Message = "Stopping with {Pending} tracking outputs not written; they are emitted again from the last checkpoint")]
    private static partial void LogUnwritten(ILogger logger, long pending);
}
