using System.Diagnostics.Metrics;
using EdgeStream.Contracts;
using EdgeStream.Engine;
using EdgeStream.Engine.State;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.Checkpoints.Postgres;
using EdgeStream.Engine.Sources.EventLog;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Kafka;
using EdgeStream.Tracking;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Zones;

namespace EdgeStream.Cloud.Tracking;

/// <summary>
/// Runs the tracking job on the engine inside the service: the event-log source joins the consumer group
/// <c>Tracking:GroupId</c> (every stream worker of a deployment shares its partitions), the runner restores
/// each assigned partition from its checkpoint, and the sink writes the job's outputs to the database.
/// Stopping revokes the partitions (final checkpoints) before the log closes.
/// </summary>
/// <remarks>
/// The zone stage runs beside it: the job's placements go to a second log keyed by zone (the event log's
/// settings, suffixed <c>-zones</c>), which a second runner (<see cref="ZoneJob"/>, group
/// <c>{GroupId}-zones</c>, checkpoints <c>zones</c>) reads to count each zone's assets, run the zone-wide
/// rules, and send peers' entering back to the tracking log for the tags' workflows.
/// </remarks>
public sealed partial class TrackingHost(IEventLog log, ITrackingStore store, CloudOptions options, ILoggerFactory loggers, CommitSignal? committed = null, DefinitionDirectory? definitions = null) : IHostedService, IAsyncDisposable
{
    /// <summary>The checkpoints' job name (a folder under the data folder, or the <c>job</c> column in PostgreSQL).</summary>
    public const string JobName = "tracking";

    /// <summary>The zone stage's checkpoints' job name.</summary>
    public const string ZoneJobName = "zones";

    /// <summary>
    /// How late a zone record may come and still count: the feed is at least once and arrives from every
    /// tracking partition, so the zone stage takes everything within an hour (its membership keeps each
    /// tag's latest change, so the order does not matter).
    /// </summary>
    public const long ZoneLatenessUs = 3_600_000_000;

    /// <summary>The meter of the job-level gauges (per gateway and over the worker's partitions).</summary>
    public const string MeterName = "EdgeStream.Tracking.Job";

    private readonly ILogger _log = loggers.CreateLogger<TrackingHost>();
    private EventLogSource? _source;
    private StreamRunner<TrackingEvent, Epc, TagState, TrackingOutput>? _runner;
    private TrackingSink? _sink;
    private Timer? _retention;
    private Meter? _meter;
    private NameTable? _gatewayNames;
    private PostgresCheckpointStore? _sharedCheckpoints;
    private PostgresCheckpointStore? _sharedZoneCheckpoints;
    private IEventLog? _zoneLog;
    private LogFeed? _zoneFeed;
    private LogFeed? _peerFeed;
    private EventLogSource? _zoneSource;
    private StreamRunner<ZoneEvent, string, ZoneState, ZoneOutput>? _zoneRunner;
    private ZoneSink? _zoneSink;

    /// <summary>The runner, once started.</summary>
    public StreamRunner<TrackingEvent, Epc, TagState, TrackingOutput>? Runner => _runner;

    /// <summary>The sink, once started.</summary>
    public TrackingSink? Sink => _sink;

    /// <summary>The event-log source, once started.</summary>
    public EventLogSource? Source => _source;

    /// <summary>The zone stage's runner, once started.</summary>
    public StreamRunner<ZoneEvent, string, ZoneState, ZoneOutput>? ZoneRunner => _zoneRunner;

    /// <summary>The zone stage's sink, once started.</summary>
    public ZoneSink? ZoneSink => _zoneSink;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var zones = new NameTable();
        var gateways = new NameTable();
        _gatewayNames = gateways;
        var job = new TrackingJob(zones, gateways, workflows: definitions?.Workflows, rules: definitions?.Rules);
        _sink = new TrackingSink(store, zones, gateways, new TrackingSinkOptions { FlushInterval = options.Tracking.FlushInterval }, loggers.CreateLogger<TrackingSink>(), committed: committed);
        var checkpoints = Checkpoints(JobName, ref _sharedCheckpoints);

        // The zone stage first, so that its log and its reader exist before the first placement.
        _zoneLog = await EventLogSelection.OpenAsync(options.EventLog.Beside(ZoneJobName), cancellationToken);
        var feedLog = loggers.CreateLogger<LogFeed>();
        _zoneFeed = new LogFeed(_zoneLog, feedLog);
        _peerFeed = new LogFeed(log, feedLog);
        _zoneSink = new ZoneSink(_sink, _peerFeed, loggers.CreateLogger<ZoneSink>());
        var zoneJob = new ZoneJob(
            () => definitions?.Rules.Catalog,
            () => definitions?.Workflows.Catalog,
            epc => definitions?.ProfileOf(epc),
            zone => definitions?.CapacityOf(zone));
        _zoneSource = new EventLogSource(_zoneLog, new EventLogSourceOptions { GroupId = options.Tracking.GroupId + "-" + ZoneJobName }, loggers);
        _zoneRunner = new StreamRunner<ZoneEvent, string, ZoneState, ZoneOutput>(
            zoneJob, options.Engine with { AllowedLatenessUs = Math.Max(options.Engine.AllowedLatenessUs, ZoneLatenessUs) }, _zoneSource, _zoneSink, _zoneSink, Checkpoints(ZoneJobName, ref _sharedZoneCheckpoints), TimeProvider.System, loggers, ZoneJobName);
        _zoneSource.Start(_zoneRunner);

        _source = new EventLogSource(log, new EventLogSourceOptions { GroupId = options.Tracking.GroupId }, loggers);
        _runner = new StreamRunner<TrackingEvent, Epc, TagState, TrackingOutput>(job, options.Engine, _source, new ZoneFeed(_sink, _zoneFeed, zones, gateways), _sink, checkpoints, TimeProvider.System, loggers, "tracking");
        _source.Start(_runner);
        CreateInstruments();
        _retention = new Timer(_ => _ = PurgeAsync(), null, TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
        LogStarted(_log, store.Provider, log.Name, log.PartitionCount, options.Tracking.GroupId, options.Tracking.Checkpoints);
    }

    private ICheckpointStore Checkpoints(string name, ref PostgresCheckpointStore? shared) =>
        options.Tracking.Checkpoints == "postgres"
            ? shared = PostgresCheckpointStore.Open(options.Tracking.ConnectionString, name + "@" + options.Tracking.GroupId, options.Engine.RetainedCheckpoints, loggers.CreateLogger<PostgresCheckpointStore>())
            : new FileCheckpointStore(Path.Combine(options.DataDir, "checkpoints", name), options.Engine.RetainedCheckpoints, loggers.CreateLogger<FileCheckpointStore>());

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    /// <summary>
    /// How far each gateway's events lag the wall clock at this worker: now minus the newest (corrected)
    /// event time the job has read from it, less the out-of-orderness bound, in seconds. A gateway whose
    /// lag grows is offline, or its uplink is buffering; it does not hold the others back.
    /// </summary>
    public IReadOnlyDictionary<string, double> GatewayWatermarkLagSeconds()
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (_runner is not { } runner || _gatewayNames is not { } names)
        {
            return result;
        }

        var newest = new Dictionary<ulong, long>();
        foreach (var p in runner.Status())
        {
            foreach (var s in p.Sources)
            {
                if (!newest.TryGetValue(s.Id, out var t) || s.NewestEventTime > t)
                {
                    newest[s.Id] = s.NewestEventTime;
                }
            }
        }

        var now = EventTimes.NowUs();
        var bound = options.Engine.OutOfOrdernessUs;
        foreach (var name in names.Names())
        {
            if (newest.TryGetValue(StableHash.Hash(name), out var t) && t != long.MinValue)
            {
                result[name] = Math.Max(0, now - (t - bound)) / 1_000_000.0;
            }
        }

        return result;
    }

    /// <summary>Log records this worker's partitions hold past their last checkpoint (log end minus checkpointed offset).</summary>
    public long JobLagRecords() =>
        _runner?.Status().Sum(s => s.EndOffset < 0 ? 0 : Math.Max(0, s.EndOffset - s.CheckpointedOffset)) ?? 0;

    private void CreateInstruments()
    {
        _meter = new Meter(MeterName);
        _meter.CreateObservableGauge(
            "edgestream.tracking.gateway.watermark.lag",
            () => GatewayWatermarkLagSeconds().Select(kv => new Measurement<double>(kv.Value, [new KeyValuePair<string, object?>("gateway", kv.Key)])).ToList(),
            "s",
            "Wall clock minus each gateway's newest event time read by the job, less the out-of-orderness bound");
        _meter.CreateObservableGauge("edgestream.tracking.job.lag", JobLagRecords, "{record}", "Log records past the last checkpoint on this worker's partitions (log end minus committed offset)");
        _meter.CreateObservableCounter("edgestream.tracking.events", () => _runner?.Status().Sum(s => s.Processed) ?? 0, "{event}", "Events the tracking job processed on this worker");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _meter?.Dispose();
        if (_retention is { } r)
        {
            await r.DisposeAsync();
            _retention = null;
        }

        if (_source is { } source)
        {
            _source = null;

            // Leaving the group revokes the partitions: each takes its final checkpoint, flushing the sink.
            await source.DisposeAsync();
        }

        if (_runner is { } runner)
        {
            await runner.DisposeAsync();
        }

        // The tracking job's final checkpoints fed the zone log; the zone stage stops after it.
        if (_zoneFeed is { } zoneFeed)
        {
            await zoneFeed.DisposeAsync();
        }

        if (_zoneSource is { } zoneSource)
        {
            _zoneSource = null;
            await zoneSource.DisposeAsync();
        }

        if (_zoneRunner is { } zoneRunner)
        {
            await zoneRunner.DisposeAsync();
        }

        if (_peerFeed is { } peerFeed)
        {
            await peerFeed.DisposeAsync();
        }

        if (_zoneLog is { } zoneLog)
        {
            _zoneLog = null;
            await zoneLog.DisposeAsync();
        }

        if (_sink is { } sink)
        {
            await sink.DisposeAsync();
        }

        foreach (var shared in new[] { _sharedCheckpoints, _sharedZoneCheckpoints })
        {
            if (shared is not null)
            {
                await shared.DisposeAsync();
            }
        }

        _sharedCheckpoints = _sharedZoneCheckpoints = null;
    }

    /// <summary>
    /// Why the job is not ready, or null when it is: every partition the log gave this worker is running
    /// and has read to the log's end (asked of the log now, not the last figure the reader saw), and the
    /// database takes writes. Events still inside the out-of-orderness bound do not count against it.
    /// </summary>
    public async Task<string?> NotReadyReasonAsync(CancellationToken cancellationToken)
    {
        if (_runner is not { } runner || _source is not { } source)
        {
            return "the tracking job is not running";
        }

        if (source.Fault is { } fault)
        {
            return "reading the event log stopped: " + fault.Message;
        }

        var assignment = source.Assignment;
        if (assignment.Count == 0)
        {
            return "no partition of the log is assigned to this worker yet";
        }

        var status = runner.Status().ToDictionary(s => s.Partition);
        long lag = 0;
        foreach (var p in assignment)
        {
            if (!status.TryGetValue(p, out var s))
            {
                return $"partition {p} is assigned but not started";
            }

            if (s.Faulted)
            {
                return $"partition {p} stopped on an error";
            }

            var end = (await log.GetOffsetsAsync(p, cancellationToken)).End;
            lag += Math.Max(0, end - s.NextOffset);
        }

        if (lag > 0)
        {
            return $"catching up: {lag} log records not yet processed";
        }

        if (_sink is { LastError: { } error })
        {
            return "the database refuses writes: " + error;
        }

        return null;
    }

    private async Task PurgeAsync()
    {
        try
        {
            var before = EventTimes.NowUs() - (long)options.Tracking.HistoryRetention.TotalMicroseconds;
            var n = await store.PurgeHistoryAsync(before, CancellationToken.None);
            if (n > 0)
            {
                LogPurged(_log, n, options.Tracking.HistoryRetention.TotalDays);
            }
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            LogPurgeFailed(_log, ex);
        }
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Tracking job started on the {Provider} database, reading the {Log} log ({Partitions} partitions) in group {Group}, checkpoints in {Checkpoints}")]
    private static partial void LogStarted(ILogger logger, string provider, string log, int partitions, string group, string checkpoints);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Deleted {Count} history intervals older than {Days} days")]
    private static partial void LogPurged(ILogger logger, long count, double days);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "Deleting old history failed; retrying in an hour")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
