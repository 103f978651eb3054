using EdgeStream.Contracts;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.Io;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Zones;
using static EdgeStream.Tracking.Tests.Workflows_in_the_tracking_job;

namespace EdgeStream.Tracking.Tests;

/// <summary>
/// The zone stage: occupancy above the capacity and the count of a type above N, one open alert per rule
/// and zone, counts that stay right when the at-least-once feed repeats itself, peers' entering told to
/// the tags whose workflow waits for it, and the state through a checkpoint.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Zone_stage
{
    private static readonly Epc Pump1 = Epc.ParseHex("30340242201D8840009EFB01");
    private static readonly Epc Pump2 = Epc.ParseHex("30340242201D8840009EFB02");
    private static readonly Epc Pump3 = Epc.ParseHex("30340242201D8840009EFB03");
    private static readonly Epc Chair = Epc.ParseHex("30340242201D8840009EFC01");
    private static readonly Epc Clinician = Epc.ParseHex("30340242201D8840009EFD01");

    [Fact]
    public void Count_of_a_type_above_n_opens_one_alert_for_the_zone_and_clears_at_n()
    {
        var stage = new Stage(Rule("""{"id": "pumps-in-ward", "version": 1, "severity": "critical", "assets": {"type": "infusion-pump"}, "pattern": {"count": {"zone": "ward-3", "above": 2}}}"""));
        stage.Enter(Pump1, "ward-3", T0);
        stage.Enter(Pump2, "ward-3", T0 + Min);
        stage.Enter(Chair, "ward-3", T0 + (2 * Min)); // not a pump: not counted
        stage.Tick(T0 + (3 * Min));
        Assert.Empty(stage.Alerts("ward-3"));

        stage.Enter(Pump3, "ward-3", T0 + (4 * Min));
        stage.Leave(Pump3, "corridor", T0 + (4 * Min)); // another zone's count does not move
        stage.Tick(T0 + (5 * Min));
        Assert.Equal([new AlertRaised("pumps-in-ward", "ward-3", AlertSeverity.Critical, "3 of type infusion-pump in ward-3, above 2", T0 + (4 * Min))], stage.Alerts("ward-3"));

        // A fourth pump does not open a second alert; back to two clears it.
        stage.Enter(Chair, "ward-3", T0 + (6 * Min));
        stage.Leave(Pump1, "ward-3", T0 + (7 * Min));
        stage.Leave(Pump2, "ward-3", T0 + (8 * Min));
        stage.Tick(T0 + (9 * Min));
        Assert.Equal(
            [
                new AlertRaised("pumps-in-ward", "ward-3", AlertSeverity.Critical, "3 of type infusion-pump in ward-3, above 2", T0 + (4 * Min)),
                new AlertCleared("pumps-in-ward", "ward-3", T0 + (7 * Min), "2 in ward-3, within the limit again"),
            ],
            stage.Alerts("ward-3"));
        Assert.True(stage.State("ward-3").Present == 2, "the chair and the third pump are in the ward");
    }

    [Fact]
    public void Occupancy_compares_with_the_zone_capacity_and_a_zone_without_one_is_never_over()
    {
        var stage = new Stage(Rule("""{"id": "crowded", "version": 1, "pattern": {"occupancy": {"kind": "room"}}}"""));
        stage.Capacities["triage"] = 1;
        stage.Enter(Pump1, "triage", T0);
        stage.Enter(Chair, "triage", T0 + Min);
        stage.Enter(Pump2, "recovery", T0); // a room without a capacity
        stage.Enter(Pump3, "recovery", T0 + Min);
        stage.Tick(T0 + (2 * Min));
        Assert.Equal([new AlertRaised("crowded", "triage", AlertSeverity.Warning, "2 assets in triage, above its capacity of 1", T0 + Min)], stage.Alerts("triage"));
        Assert.Empty(stage.Alerts("recovery"));
    }

    [Fact]
    public void A_feed_that_repeats_itself_or_comes_out_of_order_leaves_the_counts_right()
    {
        var stage = new Stage(Rule("""{"id": "pumps-in-ward", "version": 1, "assets": {"type": "infusion-pump"}, "pattern": {"count": {"zone": "ward-3", "above": 1}}}"""));
        stage.Enter(Pump1, "ward-3", T0, sequence: 1);
        stage.Leave(Pump1, "ward-3", T0 + Min, sequence: 2);
        stage.Tick(T0 + (2 * Min));

        // After a crash of the tracking job its placements come again: the same records, now late.
        stage.Enter(Pump1, "ward-3", T0, sequence: 1);
        stage.Leave(Pump1, "ward-3", T0 + Min, sequence: 2);
        stage.Enter(Pump2, "ward-3", T0 + (3 * Min), sequence: 3);
        stage.Enter(Pump2, "ward-3", T0 + (3 * Min), sequence: 3);
        stage.Tick(T0 + (4 * Min));
        Assert.Equal(1, stage.State("ward-3").Present);
        Assert.Empty(stage.Alerts("ward-3"));
    }

    [Fact]
    public void A_rule_added_while_the_zone_is_full_counts_who_is_there_and_a_removed_rule_clears_its_alert()
    {
        var stage = new Stage();
        stage.Enter(Pump1, "ward-3", T0);
        stage.Enter(Pump2, "ward-3", T0 + Min);
        stage.Tick(T0 + (2 * Min));
        var rule = Rule("""{"id": "pumps-in-ward", "version": 1, "assets": {"type": "infusion-pump"}, "pattern": {"count": {"zone": "ward-3", "above": 2}}}""");
        stage.Rules = stage.Rules.With(rule, T0 + (2 * Min));
        stage.Enter(Pump3, "ward-3", T0 + (3 * Min));
        stage.Tick(T0 + (4 * Min));
        Assert.Equal([new AlertRaised("pumps-in-ward", "ward-3", AlertSeverity.Warning, "3 of type infusion-pump in ward-3, above 2", T0 + (3 * Min))], stage.Alerts("ward-3"));

        stage.Rules = stage.Rules.With(rule with { Version = 2, Enabled = false, Pattern = null }, T0 + (5 * Min));
        stage.Enter(Chair, "ward-3", T0 + (6 * Min));
        stage.Tick(T0 + (7 * Min));
        Assert.Equal(new AlertCleared("pumps-in-ward", "ward-3", T0 + (6 * Min), "the rule no longer watches ward-3"), stage.Alerts("ward-3")[^1]);
    }

    [Fact]
    public void A_peer_entering_is_told_to_the_tags_whose_workflow_waits_for_it()
    {
        var stage = new Stage();
        stage.Enter(Ann, "triage", T0);
        stage.Enter(Pump1, "triage", T0); // runs no workflow
        stage.Enter(Ben, "exam-1", T0);    // another room
        stage.Enter(Clinician, "triage", T0 + Min);
        stage.Tick(T0 + (2 * Min));
        var peers = stage.Peers();
        var told = Assert.Single(peers);
        Assert.Equal((Ann, "clinician", Clinician, T0 + Min), (told.Value.Target, told.Value.PeerType, told.Value.Peer, told.Value.TimeUs));
        Assert.Equal("triage", told.Key);
    }

    [Fact]
    public void The_zone_state_survives_a_checkpoint_with_who_is_present_the_counts_and_the_open_alerts()
    {
        var stage = new Stage(Rule("""{"id": "pumps-in-ward", "version": 1, "assets": {"type": "infusion-pump", "attributes": {"ward": "3"}}, "pattern": {"count": {"zone": "ward-3", "above": 1}}}"""));
        stage.Enter(Pump1, "ward-3", T0);
        stage.Enter(Pump2, "ward-3", T0 + Min);
        stage.Leave(Chair, "ward-3", T0 + Min);
        stage.Tick(T0 + (2 * Min));
        var before = stage.State("ward-3");

        using var writer = new SnapshotWriter();
        stage.Job.WriteState(writer, before);
        var reader = new SnapshotReader(writer.WrittenSpan);
        var after = stage.Job.ReadState(ref reader);

        Assert.Equal(before.Present, after.Present);
        Assert.Equal(before.Members!.OrderBy(m => m.Key).Select(m => (m.Key, m.Value.Present, m.Value.SinceUs, m.Value.Profile?.Type, Attributes: string.Join(",", m.Value.Profile?.Attributes ?? new Dictionary<string, string>()))),
            after.Members!.OrderBy(m => m.Key).Select(m => (m.Key, m.Value.Present, m.Value.SinceUs, m.Value.Profile?.Type, Attributes: string.Join(",", m.Value.Profile?.Attributes ?? new Dictionary<string, string>()))));
        Assert.Equal(before.Counts, after.Counts);
        Assert.Equal(["pumps-in-ward"], after.Open!);
    }

    [Fact]
    public void Zone_wide_patterns_are_read_with_their_errors_named()
    {
        var count = Assert.IsType<CountPattern>(Rule("""{"id": "r", "version": 1, "pattern": {"count": {"kind": "dock", "above": 10}}}""").Pattern);
        Assert.Equal((new ZoneMatch(null, "dock"), 10), (count.Zone, count.Above));
        Assert.IsType<OccupancyPattern>(Rule("""{"id": "r", "version": 1, "pattern": {"occupancy": {"zone": "triage"}}}""").Pattern);

        var bad = Assert.Throws<DefinitionException>(() => RuleReader.Read("""
            {"id": "r", "version": 1,
             "pattern": {"count": {"zone": "dock", "above": -1}}}
            """));
        var error = Assert.Single(bad.Errors);
        Assert.Equal((2, "pattern.count.above"), (error.Line, error.Path));
        Assert.Throws<DefinitionException>(() => RuleReader.Read("""{"id": "r", "version": 1, "pattern": {"occupancy": {"zone": "dock", "above": 3}}}"""));
    }

    private static RuleDefinition Rule(string json) => RuleReader.Read(json);

    /// <summary>One engine task running the zone stage over records as the tracking job's feed writes them.</summary>
    private sealed class Stage
    {
        private readonly Dictionary<Epc, AssetProfile> _profiles = new()
        {
            [Pump1] = new AssetProfile("infusion-pump", new Dictionary<string, string> { ["ward"] = "3" }),
            [Pump2] = new AssetProfile("infusion-pump", new Dictionary<string, string> { ["ward"] = "3" }),
            [Pump3] = new AssetProfile("infusion-pump", new Dictionary<string, string>()),
            [Chair] = new AssetProfile("wheelchair", new Dictionary<string, string>()),
            [Ann] = new AssetProfile("patient", new Dictionary<string, string>()),
            [Ben] = new AssetProfile("patient", new Dictionary<string, string>()),
            [Clinician] = new AssetProfile("clinician", new Dictionary<string, string>()),
        };

        private readonly StreamTask<ZoneEvent, string, ZoneState, ZoneOutput> _task;
        private ulong _sequence;
        private long _offset;

        public Stage(params RuleDefinition[] rules)
        {
            Rules = RuleCatalog.Empty(z => Kinds.GetValueOrDefault(z), _ => null);
            foreach (var rule in rules)
            {
                Rules = Rules.With(rule, T0 - Min);
            }

            var workflows = WorkflowCatalog.Empty(z => Kinds.GetValueOrDefault(z)).With(Hospital, T0 - Min);
            Job = new ZoneJob(() => Rules, () => workflows, epc => _profiles.GetValueOrDefault(epc), z => Capacities.TryGetValue(z, out var c) ? c : null);
            _task = new StreamTask<ZoneEvent, string, ZoneState, ZoneOutput>(Job, new EngineOptions { AllowedLatenessUs = ZoneJob.ForgetAfterUs }, 0, Sink, new InMemorySideOutput(), new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(T0 / 1000)));
        }

        public ZoneJob Job { get; }

        public RuleCatalog Rules { get; set; }

        public Dictionary<string, int> Capacities { get; } = new(StringComparer.Ordinal);

        public InMemoryOutputSink<string, ZoneOutput> Sink { get; } = new();

        public void Enter(Epc epc, string zone, long t, ulong? sequence = null) => Add(epc, zone, true, t, sequence);

        public void Leave(Epc epc, string zone, long t, ulong? sequence = null) => Add(epc, zone, false, t, sequence);

        /// <summary>A record of a zone nobody watches, which moves the gateway's watermark to <paramref name="t"/>.</summary>
        public void Tick(long t) => Add(Epc.ParseHex("300000000000000000000001"), "clock", true, t + 2_000_001, null);

        public List<WorkflowOutput> Alerts(string zone) =>
            [.. Sink.Snapshot().Where(o => o.Key == zone && o.Value.Step is not null).OrderBy(o => o.Id.Sequence).Select(o => o.Value.Step!.What)];

        public List<Output<string, ZoneOutput>> Peers() => [.. Sink.Snapshot().Where(o => o.Value.PeerType is not null)];

        public ZoneState State(string zone) => _task.TryGetState(zone, out var s) ? s : default;

        private void Add(Epc epc, string zone, bool entered, long t, ulong? sequence)
        {
            var record = ZoneJob.Encode(zone, epc, entered, t, "gw-1", sequence ?? ++_sequence + 1000, 1);
            _task.ProcessRecord(_offset++, System.Text.Encoding.UTF8.GetBytes(zone), record);
        }
    }
}
