using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.Io;

namespace EdgeStream.Tracking.Tests;

/// <summary>The tracking job on a real engine task, fed encoded log records as the service's log holds them.</summary>
[Trait("Capability", "Tracking")]
public sealed class The_tracking_job
{
    private const long T0 = 1_767_225_600_000_000;
    private const long S = 1_000_000;
    private static readonly Epc Pump = Epc.ParseHex("30340242201D8840009EFD01");
    private static readonly Epc Chair = Epc.ParseHex("30340242201D8840009EFD02");

    [Fact]
    public void Moves_become_placements_and_repeats_of_the_current_zone_change_nothing()
    {
        var run = new Run();
        run.Presence("gw-1", 1, Pump, PresenceKind.Arrive, "waiting", T0);
        run.Presence("gw-1", 2, Pump, PresenceKind.Arrive, "waiting", T0 + S);
        run.Presence("gw-1", 3, Pump, PresenceKind.Move, "triage", T0 + (2 * S));
        run.Presence("gw-1", 4, Pump, PresenceKind.Depart, "triage", T0 + (3 * S));
        run.End();

        Assert.Equal(["waiting@0", "triage@2", "-triage@3"], run.Placements(Pump));
        Assert.All(run.Outputs.Where(o => o.Value.Kind == TrackingOutputKind.Placement), o => Assert.False(o.Value.Late));
    }

    [Fact]
    public void A_departure_from_a_zone_the_tag_has_left_does_not_overrule_the_gateway_that_placed_it_since()
    {
        var run = new Run();
        run.Presence("gw-1", 1, Pump, PresenceKind.Arrive, "ward", T0);
        run.Presence("gw-2", 1, Pump, PresenceKind.Arrive, "corridor", T0 + S);
        run.Presence("gw-1", 2, Pump, PresenceKind.Depart, "ward", T0 + (2 * S));
        run.End();

        Assert.Equal(["ward@0", "corridor@1"], run.Placements(Pump));
    }

    [Fact]
    public void Input_shuffled_within_the_bound_and_delivered_twice_places_exactly_as_in_order()
    {
        var events = new List<(string Gw, ulong Seq, Epc Epc, PresenceKind Kind, string Zone, long T)>();
        var zones = new[] { "waiting", "triage", "exam-1", "exam-2", "recovery" };
        var rng = new Random(7);
        ulong seq = 0;
        for (var i = 0; i < 400; i++)
        {
            var epc = i % 2 == 0 ? Pump : Chair;
            events.Add(("gw-1", ++seq, epc, PresenceKind.Move, zones[rng.Next(zones.Length)], T0 + (i * 100_000)));
        }

        var ordered = new Run();
        foreach (var e in events)
        {
            ordered.Presence(e.Gw, e.Seq, e.Epc, e.Kind, e.Zone, e.T);
        }

        ordered.End();

        // Shuffle within 1 s (the bound is 2 s) and deliver a tenth of the records twice, the copy close
        // behind the original, as a redelivered batch arrives.
        var shuffled = events.Select((e, i) => (e, key: i + (rng.NextDouble() * 10))).OrderBy(x => x.key).Select(x => x.e).ToList();
        var mixed = new Run();
        for (var i = 0; i < shuffled.Count; i++)
        {
            var e = shuffled[i];
            mixed.Presence(e.Gw, e.Seq, e.Epc, e.Kind, e.Zone, e.T);
            if (i % 10 == 0)
            {
                var copy = shuffled[Math.Max(0, i - 3)];
                mixed.Presence(copy.Gw, copy.Seq, copy.Epc, copy.Kind, copy.Zone, copy.T);
            }
        }

        mixed.End();
        Assert.NotEmpty(ordered.Placements(Pump));
        Assert.Equal(ordered.Placements(Pump), mixed.Placements(Pump));
        Assert.Equal(ordered.Placements(Chair), mixed.Placements(Chair));
        Assert.Equal(ordered.Outputs.Select(o => o.Id), mixed.Outputs.Select(o => o.Id));
    }

    [Fact]
    public void An_event_older_than_the_current_placement_is_emitted_for_history_without_moving_the_tag()
    {
        var run = new Run();
        run.Presence("gw-1", 1, Pump, PresenceKind.Arrive, "waiting", T0);
        run.Presence("gw-1", 2, Pump, PresenceKind.Move, "exam-1", T0 + (30 * S));
        run.Presence("gw-1", 3, Chair, PresenceKind.Arrive, "waiting", T0 + (40 * S));

        // Past the watermark (38 s) but within the allowed lateness (10 s): processed at once, late.
        run.Presence("gw-1", 4, Pump, PresenceKind.Move, "triage", T0 + (29 * S));
        run.Presence("gw-1", 5, Chair, PresenceKind.Move, "exam-2", T0 + (50 * S));
        run.End();

        var late = run.Outputs.Single(o => o.Key == Pump && o.Value.TimeUs == T0 + (29 * S)).Value;
        Assert.True(late.Late);
        Assert.True(run.Task.TryGetState(Pump, out var state));
        Assert.Equal("exam-1", run.Zones.NameOf(state.Zone));
        Assert.Equal(T0 + (30 * S), state.SinceUs);
    }

    [Fact]
    public void Reads_refresh_last_seen_at_most_once_per_sighting_interval()
    {
        var run = new Run(sightingIntervalUs: 10 * S);
        for (var i = 0; i < 30; i++)
        {
            run.Read("gw-1", (ulong)i + 1, Pump, T0 + (i * S));
        }

        run.End();
        Assert.Equal([T0, T0 + (10 * S), T0 + (20 * S)], run.Outputs.Where(o => o.Value.Kind == TrackingOutputKind.Sighting).Select(o => o.Value.TimeUs));
        Assert.True(run.Task.TryGetState(Pump, out var state));
        Assert.Equal(T0 + (29 * S), state.LastSeenUs);
    }

    [Fact]
    public void A_record_that_is_not_a_log_entry_goes_to_the_side_output_as_malformed()
    {
        var run = new Run();
        run.Raw([1, 2, 3]);
        run.Presence("gw-1", 1, Pump, PresenceKind.Arrive, "waiting", T0);
        run.End();
        Assert.Single(run.Side.Query(SideReason.Malformed));
        Assert.Equal(["waiting@0"], run.Placements(Pump));
    }

    [Fact]
    public void State_and_buffered_events_survive_a_checkpoint_into_a_process_with_other_name_numbers()
    {
        var run = new Run();
        run.Presence("gw-1", 1, Pump, PresenceKind.Arrive, "waiting", T0);
        run.Presence("gw-1", 2, Chair, PresenceKind.Arrive, "triage", T0 + S);
        run.Presence("gw-1", 3, Pump, PresenceKind.Move, "exam-1", T0 + (2 * S));
        var snapshot = run.Task.BeginCheckpoint(1);
        using var writer = new SnapshotWriter();
        run.Task.WriteCheckpoint(snapshot, writer);
        run.Task.ReleaseSnapshot(snapshot);
        var before = run.Outputs.Select(o => o.Id).ToHashSet();

        // Another process: its name tables met other names first.
        var other = new Run();
        other.Zones.Intern("somewhere-else");
        other.Gateways.Intern("gw-9");
        other.Task.Restore(writer.WrittenSpan);
        other.Offset = run.Offset;
        other.Presence("gw-1", 4, Pump, PresenceKind.Move, "exam-1", T0 + (3 * S));
        other.Presence("gw-1", 5, Chair, PresenceKind.Move, "recovery", T0 + (4 * S));
        other.End();
        run.Presence("gw-1", 4, Pump, PresenceKind.Move, "exam-1", T0 + (3 * S));
        run.Presence("gw-1", 5, Chair, PresenceKind.Move, "recovery", T0 + (4 * S));
        run.End();

        // The restored task emits exactly what the first one emitted after the checkpoint, ids included.
        var after = run.Outputs.Where(o => !before.Contains(o.Id)).ToList();
        Assert.NotEmpty(after);
        Assert.Equal(after.Select(o => (o.Key, o.Id, o.Value.TimeUs, run.Zones.NameOf(o.Value.Zone))), other.Outputs.Select(o => (o.Key, o.Id, o.Value.TimeUs, other.Zones.NameOf(o.Value.Zone))));
    }

    /// <summary>One engine task running the job over records encoded as ingest writes them.</summary>
    private sealed class Run
    {
        private readonly byte[] _buffer = new byte[LogRecordCodec.MaxEncodedBytes];

        public Run(long sightingIntervalUs = 10 * S)
        {
            Job = new TrackingJob(Zones, Gateways, sightingIntervalUs);
            Task = new StreamTask<TrackingEvent, Epc, TagState, TrackingOutput>(Job, new EngineOptions(), 0, Sink, Side);
        }

        public NameTable Zones { get; } = new();

        public NameTable Gateways { get; } = new();

        public TrackingJob Job { get; }

        public InMemoryOutputSink<Epc, TrackingOutput> Sink { get; } = new();

        public InMemorySideOutput Side { get; } = new();

        public StreamTask<TrackingEvent, Epc, TagState, TrackingOutput> Task { get; }

        public long Offset { get; set; }

        public IReadOnlyList<Output<Epc, TrackingOutput>> Outputs => Sink.Snapshot();

        public void Presence(string gw, ulong seq, Epc epc, PresenceKind kind, string zone, long t)
        {
            var n = LogRecordCodec.EncodePresence(gw, seq, 0, 1, new PresenceEvent { Epc = epc, Kind = kind, Zone = zone, EventTimeUs = t, ReadCount = 3 }, _buffer);
            Task.ProcessRecord(Offset++, epc.ToArray(), _buffer.AsSpan(0, n));
        }

        public void Read(string gw, ulong seq, Epc epc, long t)
        {
            var n = LogRecordCodec.EncodeRead(gw, seq, 0, 1, new TagRead { Epc = epc, ReaderId = "r1", Antenna = 1, RssiCentiDbm = -5500, EventTimeUs = t }, _buffer);
            Task.ProcessRecord(Offset++, epc.ToArray(), _buffer.AsSpan(0, n));
        }

        public void Raw(byte[] value) => Task.ProcessRecord(Offset++, [0x30], value);

        public void End() => Task.EndOfInput();

        /// <summary>The tag's placements in output order: <c>zone@seconds</c>, or <c>-zone@seconds</c> for a departure.</summary>
        public List<string> Placements(Epc epc) =>
        [
            .. Outputs.Where(o => o.Key == epc && o.Value.Kind == TrackingOutputKind.Placement)
                .OrderBy(o => o.Id.Sequence)
                .Select(o => (o.Value.Zone == NameTable.None ? "-" + Zones.NameOf(o.Value.Left) : Zones.NameOf(o.Value.Zone)) + "@" + ((o.Value.TimeUs - T0) / S).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ];
    }
}
