using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class The_windowing_processor
{
    private static WindowingOptions TwoZones(ReadsOutputMode mode = ReadsOutputMode.Summaries) => new()
    {
        ReorderToleranceMs = 200,
        DepartureTimeoutMs = 3000,
        Arbitration = new ArbitrationOptions { WindowMs = 800, MinReads = 2, MinMeanRssiDbm = -75, MoveMarginDb = 6, HoldOffMs = 2000 },
        Reads = new ReadsOutputOptions { Mode = mode, SampleEvery = 4 },
        Zones =
        [
            new ZoneOptions { Name = "room", Antennas = [new AntennaOptions { Reader = "r", Antenna = 1 }] },
            new ZoneOptions { Name = "exit", Kind = ZoneKind.Exit, DepartureTimeoutMs = 1000, Antennas = [new AntennaOptions { Reader = "r", Antenna = 2 }] },
        ],
    };

    [Fact]
    public void Arrival_needs_the_minimum_reads_and_the_minimum_mean_rssi()
    {
        var p = new WindowingProcessor(TwoZones());
        var output = new RecordingOutput();

        p.OnRead(Reads.At("r", 1, "AA", 1_000_000, -8000), output);
        p.OnRead(Reads.At("r", 1, "AA", 1_100_000, -7900), output); // two reads, but the mean is too weak
        p.OnRead(Reads.At("r", 1, "BB", 1_000_000, -5000), output); // one strong read: too few
        p.OnRead(Reads.At("r", 1, "BB", 1_150_000, -5000), output);
        p.OnRead(Reads.At("r", 1, "FF", 2_000_000, -9000), output); // moves event time on
        p.Flush(output);

        var arrive = Assert.Single(output.Presence);
        Assert.Equal(new PresenceEvent
        {
            Epc = Epc.ParseHex("BB"),
            Kind = PresenceKind.Arrive,
            Zone = "room",
            EventTimeUs = 1_150_000,
            ReadCount = 2,
            PeakRssiCentiDbm = -5000,
            MeanRssiCentiDbm = -5000,
        }, arrive);
    }

    [Fact]
    public void Move_waits_for_the_hold_off_and_needs_the_margin()
    {
        var p = new WindowingProcessor(TwoZones());
        var output = new RecordingOutput();
        var t = 1_000_000L;
        void Read(int antenna, short rssi)
        {
            p.OnRead(Reads.At("r", antenna, "AA", t, rssi), output);
            t += 50_000;
        }

        Read(1, -6000);
        Read(1, -6000); // arrives in room at 1.05 s
        for (var i = 0; i < 20; i++)
        {
            Read(2, -5500); // exit is 5 dB stronger: below the 6 dB margin
            Read(1, -6000);
        }

        Assert.Equal([PresenceKind.Arrive], output.Presence.Select(e => e.Kind));
        for (var i = 0; i < 40; i++)
        {
            Read(2, -4000); // now far stronger, and the room fades out of the window
        }

        p.Flush(output);
        var move = output.Presence[^1];
        Assert.Equal(PresenceKind.Move, move.Kind);
        Assert.Equal("exit", move.Zone);
        Assert.Equal("room", move.FromZone);
        Assert.True(move.EventTimeUs - output.Presence[0].EventTimeUs >= 2_000_000, "hold-off of 2 s respected");
    }

    [Fact]
    public void Exit_zone_departs_after_its_own_shorter_timeout_in_event_time()
    {
        var p = new WindowingProcessor(TwoZones());
        var output = new RecordingOutput();

        p.OnRead(Reads.At("r", 2, "AA", 1_000_000), output);
        p.OnRead(Reads.At("r", 2, "AA", 1_100_000), output);
        p.OnRead(Reads.At("r", 1, "BB", 1_100_000), output);
        p.OnRead(Reads.At("r", 1, "BB", 1_200_000), output);
        for (var t = 1_300_000L; t <= 4_000_000; t += 100_000)
        {
            p.OnRead(Reads.At("r", 1, "BB", t), output); // another tag keeps event time moving
        }

        var depart = Assert.Single(output.Presence, e => e.Kind == PresenceKind.Depart);
        Assert.Equal(Epc.ParseHex("AA"), depart.Epc);
        Assert.Equal("exit", depart.Zone);
        Assert.Equal(2_100_000, depart.EventTimeUs); // last seen 1.1 s + the exit's 1 s timeout
        Assert.Equal(2, depart.ReadCount);
        Assert.Equal(1, p.Stats.TrackedTags); // the departed tag is forgotten
    }

    [Fact]
    public void Ticks_let_tags_depart_when_no_reads_arrive_but_change_nothing_while_reads_flow()
    {
        var p = new WindowingProcessor(TwoZones());
        var output = new RecordingOutput();
        const long gateway = 5_000_000_000;

        p.OnRead(Reads.At("r", 1, "AA", 1_000_000), output);
        p.OnTick(gateway, output);
        p.OnRead(Reads.At("r", 1, "AA", 1_100_000), output);
        p.OnTick(gateway + 100_000, output); // a read came since the last tick: nothing moves
        Assert.Equal(2, p.Stats.BufferedReads); // both within the 200 ms tolerance of the newest

        for (var tick = gateway + 200_000; tick <= gateway + 4_000_000; tick += 100_000)
        {
            p.OnTick(tick, output);
        }

        Assert.Equal([PresenceKind.Arrive, PresenceKind.Depart], output.Presence.Select(e => e.Kind));
        Assert.Equal(4_100_000, output.Presence[1].EventTimeUs);
        Assert.Equal(0, p.Stats.BufferedReads);
    }

    [Fact]
    public void Raw_reads_flow_by_mode_all_sampled_or_none()
    {
        foreach (var (mode, expected) in new[] { (ReadsOutputMode.All, 10), (ReadsOutputMode.Sampled, 3), (ReadsOutputMode.None, 0) })
        {
            var p = new WindowingProcessor(TwoZones(mode));
            var output = new RecordingOutput();
            for (var i = 0; i < 10; i++)
            {
                p.OnRead(Reads.At("r", 1, "AA", 1_000_000 + (i * 10_000L)), output);
            }

            p.Flush(output);
            Assert.Equal(expected, output.Reads.Count);
            Assert.Equal(expected, p.Stats.ReadsForwarded);
            Assert.Empty(output.Observations);
            Assert.Equal(PresenceKind.Arrive, Assert.Single(output.Presence).Kind); // presence flows in every mode
        }
    }

    [Fact]
    public void Batch_of_reads_is_the_same_as_reads_one_by_one()
    {
        var reads = Enumerable.Range(0, 300)
            .Select(i => Reads.At("r", 1 + (i % 2), $"A{i % 7}", 1_000_000 + (i * 20_000L), (short)(-4000 - (i % 2 * 1500))))
            .ToArray();
        var single = new RecordingOutput();
        var batched = new RecordingOutput();
        var p1 = new WindowingProcessor(TwoZones());
        var p2 = new WindowingProcessor(TwoZones());

        foreach (var r in reads)
        {
            p1.OnRead(r, single);
        }

        p2.OnReads(reads, batched);
        p1.Flush(single);
        p2.Flush(batched);

        Assert.NotEmpty(single.Presence);
        Assert.Equal(single.Presence, batched.Presence);
        Assert.Equal(single.Observations, batched.Observations);
    }

    [Fact]
    public void Invalid_reads_are_rejected_counted_and_reported()
    {
        var p = new WindowingProcessor(TwoZones(ReadsOutputMode.All));
        var output = new RecordingOutput();

        p.OnRead(new TagRead { Epc = default, ReaderId = "r", Antenna = 1, EventTimeUs = 1_000_000 }, output);
        p.OnRead(new TagRead { Epc = Epc.ParseHex("AA"), ReaderId = "", Antenna = 1, EventTimeUs = 1_000_000 }, output);
        p.OnRead(new TagRead { Epc = Epc.ParseHex("AA"), ReaderId = "r", Antenna = 1, EventTimeUs = 0 }, output);

        Assert.Equal(3, p.Stats.ReadsInvalid);
        Assert.All(output.Rejected, r => Assert.Equal(WindowRejectReason.Invalid, r.Reason));
        Assert.Equal(3, output.Rejected.Count);
        Assert.Empty(output.Reads);
    }

    [Fact]
    public void Read_later_than_the_tolerance_is_counted_and_still_summarised()
    {
        var p = new WindowingProcessor(TwoZones());
        var output = new RecordingOutput();

        p.OnRead(Reads.At("r", 1, "AA", 5_000_000), output);
        p.OnRead(Reads.At("r", 1, "AA", 5_000_001), output);
        p.OnRead(Reads.At("r", 1, "BB", 4_700_000), output); // 300 ms behind, tolerance 200 ms
        p.Flush(output);

        Assert.Equal(1, p.Stats.ReadsLate);
        var late = Assert.Single(output.Observations, o => o.Epc == Epc.ParseHex("BB"));
        Assert.Equal(1, late.ReadCount);
        Assert.Equal("room", late.Zone);
        Assert.DoesNotContain(output.Presence, e => e.Epc == Epc.ParseHex("BB"));
    }

    [Fact]
    public void Tags_beyond_the_capacity_are_refused_for_windowing_and_counted()
    {
        var p = new WindowingProcessor(TwoZones(ReadsOutputMode.All) with { MaxTrackedTags = 2 });
        var output = new RecordingOutput();

        foreach (var epc in new[] { "01", "02", "03" })
        {
            p.OnRead(Reads.At("r", 1, epc, 1_000_000), output);
            p.OnRead(Reads.At("r", 1, epc, 1_010_000), output);
        }

        p.Flush(output);
        Assert.Equal(2, p.Stats.TrackedTags);
        Assert.Equal(2, p.Stats.ReadsOverTagCapacity);
        Assert.Equal(["01", "02"], output.Presence.Select(e => e.Epc.ToString()));
        Assert.Equal(6, output.Reads.Count); // still forwarded as reads
        Assert.Equal(2, output.Rejected.Count(r => r.Reason == WindowRejectReason.TagCapacity));
    }

    [Fact]
    public void Full_reorder_buffer_processes_the_oldest_early_and_counts_it()
    {
        var p = new WindowingProcessor(TwoZones() with { MaxBufferedReads = 4, ReorderToleranceMs = 60_000 });
        var output = new RecordingOutput();

        for (var i = 0; i < 10; i++)
        {
            p.OnRead(Reads.At("r", 1, "AA", 1_000_000 + (i * 1000L)), output);
        }

        Assert.Equal(6, p.Stats.ReorderOverflows);
        Assert.Equal(4, p.Stats.BufferedReads);
        Assert.Equal(PresenceKind.Arrive, Assert.Single(output.Presence).Kind);
    }

    [Fact]
    public void Steady_state_reads_do_not_allocate()
    {
        var p = new WindowingProcessor(TwoZones());
        var output = new CountingOutput();
        var tags = Enumerable.Range(0, 200).Select(i => Epc.ParseHex($"30340242201D8840{i:X8}")).ToArray();
        var t = 1_000_000L;
        void Run(int n)
        {
            for (var i = 0; i < n; i++)
            {
                var read = new TagRead { Epc = tags[i % tags.Length], ReaderId = "r", Antenna = (ushort)(1 + (i % 2)), RssiCentiDbm = (short)(-5000 - (i % 7 * 100)), EventTimeUs = t, SeenCount = 1 };
                p.OnRead(read, output);
                t += 500;
            }
        }

        Run(200_000); // pools grow to the working set
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(100_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(output.Count > 0);
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 100,000 reads");
    }

    private sealed class CountingOutput : IWindowOutput
    {
        public long Count { get; private set; }

        public void OnPresence(in PresenceEvent presence) => Count++;

        public void OnRead(in TagRead read) => Count++;

        public void OnObservation(in TagObservation observation) => Count++;

        public void OnRejected(in TagRead read, WindowRejectReason reason) => Count++;
    }
}
