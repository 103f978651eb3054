using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class Reconfiguring_zones_live
{
    private static readonly WindowingOptions Initial = new()
    {
        ReorderToleranceMs = 100,
        DepartureTimeoutMs = 2000,
        Arbitration = new ArbitrationOptions { MinReads = 2 },
        Zones =
        [
            new ZoneOptions { Name = "ward", Antennas = [new AntennaOptions { Reader = "r", Antenna = 1 }] },
            new ZoneOptions { Name = "store", Antennas = [new AntennaOptions { Reader = "r", Antenna = 2 }] },
        ],
    };

    [Fact]
    public void New_configuration_keeps_present_tags_where_they_are_without_new_arrivals()
    {
        var p = new WindowingProcessor(Initial);
        var output = new RecordingOutput();
        var t = 1_000_000L;
        for (; t < 2_000_000; t += 100_000)
        {
            p.OnRead(Reads.At("r", 1, "AA", t), output);
        }

        // The ward gains an antenna and a stickier margin; the store is unchanged.
        var changed = Initial with
        {
            Zones =
            [
                Initial.Zones[0] with { Antennas = [.. Initial.Zones[0].Antennas, new AntennaOptions { Reader = "r2", Antenna = 1 }], Arbitration = new ArbitrationOverrides { MoveMarginDb = 10 } },
                Initial.Zones[1],
            ],
        };
        p = p.Reconfigure(changed, output);
        for (; t < 3_000_000; t += 100_000)
        {
            p.OnRead(Reads.At("r2", 1, "AA", t), output); // the new antenna of the same zone
        }

        for (; t < 8_000_000; t += 100_000)
        {
            p.OnRead(Reads.At("r", 2, "BB", t), output); // another tag moves event time on
        }

        var aa = output.Presence.Where(e => e.Epc == Epc.ParseHex("AA")).ToList();
        Assert.Equal([PresenceKind.Arrive, PresenceKind.Depart], aa.Select(e => e.Kind));
        Assert.All(aa, e => Assert.Equal("ward", e.Zone));
        Assert.Equal(2_900_000 + 2_000_000, aa[1].EventTimeUs);
        Assert.Equal(20, aa[1].ReadCount); // the stay's evidence spans both configurations
        Assert.Equal(1, p.Stats.Departures);
    }

    [Fact]
    public void Tags_in_a_removed_zone_depart_when_the_configuration_changes()
    {
        var p = new WindowingProcessor(Initial);
        var output = new RecordingOutput();
        p.OnRead(Reads.At("r", 2, "BB", 1_000_000), output);
        p.OnRead(Reads.At("r", 2, "BB", 1_050_000), output);
        p.OnRead(Reads.At("r", 1, "AA", 1_100_000), output);
        p.OnRead(Reads.At("r", 1, "AA", 1_150_000), output);

        p = p.Reconfigure(Initial with { Zones = [Initial.Zones[0]] }, output);

        var depart = Assert.Single(output.Presence, e => e.Kind == PresenceKind.Depart);
        Assert.Equal(Epc.ParseHex("BB"), depart.Epc);
        Assert.Equal("store", depart.Zone);
        Assert.Equal(1_150_000, depart.EventTimeUs);
        Assert.Equal(1, p.Stats.PresentTags);

        p.OnRead(Reads.At("r", 1, "AA", 1_100_000), output); // older than what was windowed: late
        Assert.Equal(1, p.Stats.ReadsLate);
    }

    [Fact]
    public void Invalid_new_configuration_is_refused_and_the_running_processor_is_untouched()
    {
        var p = new WindowingProcessor(Initial);
        var output = new RecordingOutput();
        p.OnRead(Reads.At("r", 1, "AA", 1_000_000), output);

        var ex = Assert.Throws<WindowingOptionsException>(() => p.Reconfigure(Initial with { DedupeIntervalMs = -1 }, output));

        Assert.Equal("Windowing:DedupeIntervalMs", ex.Key);
        Assert.Equal(1, p.Stats.BufferedReads);
        p.OnRead(Reads.At("r", 1, "AA", 1_050_000), output);
        p.Flush(output);
        Assert.Equal(PresenceKind.Arrive, Assert.Single(output.Presence).Kind);
    }
}
