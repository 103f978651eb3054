using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Rules;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Workflows;
using static EdgeStream.Tracking.Tests.Workflows_in_the_tracking_job;

namespace EdgeStream.Tracking.Tests;

/// <summary>One engine task running the tracking job with the hospital workflow for patients.</summary>
internal sealed class JobRun
{
    private readonly byte[] _buffer = new byte[LogRecordCodec.MaxEncodedBytes];
    private readonly Dictionary<string, ulong> _sequences = [];

    public JobRun(params RuleDefinition[] rules)
    {
        Workflows = new TagWorkflows(WorkflowCatalog.Empty(z => Kinds.GetValueOrDefault(z)).With(Hospital, T0 - Min), epc => epc == Ann || epc == Ben ? "patient" : null);
        var catalog = RuleCatalog.Empty(z => Kinds.GetValueOrDefault(z), z => z.StartsWith("ny-", StringComparison.Ordinal) ? TimeZoneInfo.FindSystemTimeZoneById("America/New_York") : null);
        foreach (var rule in rules)
        {
            catalog = catalog.With(rule, T0 - Min);
        }

        Rules = new TagRules(catalog, epc => Profiles.GetValueOrDefault(epc));
        Task = new StreamTask<TrackingEvent, Epc, TagState, TrackingOutput>(new TrackingJob(Zones, new NameTable(), workflows: Workflows, rules: Rules), new EngineOptions(), 0, Sink, new InMemorySideOutput(), WallTime);
    }

    /// <summary>An infusion pump of ward 3, which runs no workflow.</summary>
    public static Epc Pump { get; } = Epc.ParseHex("30340242201D8840009EFB01");

    /// <summary>The registered assets the rules see: the two patients and the pump.</summary>
    public Dictionary<Epc, AssetProfile> Profiles { get; } = new()
    {
        [Ann] = new AssetProfile("patient", new Dictionary<string, string>()),
        [Ben] = new AssetProfile("patient", new Dictionary<string, string>()),
        [Pump] = new AssetProfile("infusion-pump", new Dictionary<string, string> { ["ward"] = "3" }),
    };

    public TagRules Rules { get; }

    /// <summary>What rules did for the tag, in order: alerts raised and cleared.</summary>
    public List<WorkflowOutput> RuleSteps(Epc epc) => [.. Outputs(epc).Where(o => o.Step!.Rule).Select(o => o.Step!.What)];

    public NameTable Zones { get; } = new();

    /// <summary>The task's wall clock, for processing-time timers.</summary>
    public ManualClock WallTime { get; } = new(DateTimeOffset.FromUnixTimeMilliseconds(T0 / 1000));

    public TagWorkflows Workflows { get; }

    public InMemoryOutputSink<Epc, TrackingOutput> Sink { get; } = new();

    public StreamTask<TrackingEvent, Epc, TagState, TrackingOutput> Task { get; }

    public long Offset { get; set; }

    public void Place(Epc epc, string zone, long t, string gateway = "gw-1") => Presence(epc, PresenceKind.Move, zone, t, gateway);

    public void Depart(Epc epc, string zone, long t, string gateway = "gw-1") => Presence(epc, PresenceKind.Depart, zone, t, gateway);

    /// <summary>A read of a tag that runs no workflow: it moves the gateway's watermark to <paramref name="t"/> less the bound.</summary>
    public void Tick(long t, string gateway = "gw-1")
    {
        var n = LogRecordCodec.EncodeRead(gateway, Next(gateway), 0, 1, new TagRead { Epc = Clock, ReaderId = "r1", Antenna = 1, RssiCentiDbm = -5500, EventTimeUs = t + 2_000_001 }, _buffer);
        Task.ProcessRecord(Offset++, Clock.ToArray(), _buffer.AsSpan(0, n));
    }

    /// <summary>A watermark mark of <paramref name="gateway"/> at <paramref name="t"/>, as ingest appends it for a gateway's status.</summary>
    public void Mark(long t, string gateway = "gw-1")
    {
        var key = Epc.ParseHex("00000000");
        var n = LogRecordCodec.EncodeMark(gateway, 0, key, t, _buffer, t, 0);
        Task.ProcessRecord(Offset++, key.ToArray(), _buffer.AsSpan(0, n));
    }

    /// <summary>A raw read of <paramref name="epc"/> at <paramref name="t"/>: a sighting, no placement.</summary>
    public void Read(Epc epc, long t, string gateway = "gw-1")
    {
        var n = LogRecordCodec.EncodeRead(gateway, Next(gateway), 0, 1, new TagRead { Epc = epc, ReaderId = "r1", Antenna = 1, RssiCentiDbm = -5500, EventTimeUs = t }, _buffer);
        Task.ProcessRecord(Offset++, epc.ToArray(), _buffer.AsSpan(0, n));
    }

    public List<TrackingOutput> Outputs(Epc epc) =>
        [.. Sink.Snapshot().Where(o => o.Key == epc && o.Value.Kind == TrackingOutputKind.Workflow).OrderBy(o => o.Id.Sequence).Select(o => o.Value)];

    public List<WorkflowOutput> Steps(Epc epc) => [.. Outputs(epc).Select(o => o.Step!.What)];

    /// <summary>A person's event, as the cloud appends it to the log.</summary>
    public void Manual(Epc epc, ManualKind kind, long t, string? zone = null, string? action = null, long untilUs = 0, string by = "nurse-4")
    {
        var sequence = Next(ManualEvent.Source);
        var n = LogRecordCodec.EncodeManual(sequence, new ManualEvent { Epc = epc, Kind = kind, EventTimeUs = t, Zone = zone, Action = action, UntilUs = untilUs, By = by, ClientId = $"c-{sequence}" }, _buffer, t);
        Task.ProcessRecord(Offset++, epc.ToArray(), _buffer.AsSpan(0, n));
    }

    /// <summary>Moves the wall clock to <paramref name="t"/> and lets the task fire what is due (sources silent for the idle timeout go idle).</summary>
    public void WallClock(long t)
    {
        WallTime.Now = DateTimeOffset.FromUnixTimeMilliseconds(t / 1000);
        Task.OnClock(caughtUp: true);
    }

    /// <summary>The zones the tag was placed in, in order (null: departed).</summary>
    public List<string?> Placements(Epc epc) =>
        [.. Sink.Snapshot().Where(o => o.Key == epc && o.Value.Kind == TrackingOutputKind.Placement).OrderBy(o => o.Id.Sequence).Select(o => Zones.NameOf(o.Value.Zone))];

    public void Presence(Epc epc, PresenceKind kind, string zone, long t, string gateway)
    {
        var n = LogRecordCodec.EncodePresence(gateway, Next(gateway), 0, 1, new PresenceEvent { Epc = epc, Kind = kind, Zone = zone, EventTimeUs = t, ReadCount = 3 }, _buffer);
        Task.ProcessRecord(Offset++, epc.ToArray(), _buffer.AsSpan(0, n));
    }

    private ulong Next(string gateway) => _sequences[gateway] = _sequences.GetValueOrDefault(gateway) + 1;
}
