using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class Dedupe
{
    private static readonly WindowingOptions Options = new()
    {
        DedupeIntervalMs = 1000,
        ReorderToleranceMs = 100,
        Zones = [new ZoneOptions { Name = "shelf", Antennas = [new AntennaOptions { Reader = "r", Antenna = 1 }] }],
    };

    [Fact]
    public void Repeated_reads_within_the_interval_collapse_into_one_observation_with_evidence()
    {
        var p = new WindowingProcessor(Options);
        var output = new RecordingOutput();

        p.OnRead(Reads.At("r", 1, "AB01", 10_000_000, -6000, seen: 2), output);
        p.OnRead(Reads.At("r", 1, "AB01", 10_300_000, -5000), output);
        p.OnRead(Reads.At("r", 1, "AB01", 10_900_000, -5500, seen: 3), output);
        p.OnRead(Reads.At("r", 1, "AB01", 10_950_000, TagRead.NoRssi), output);
        Assert.Empty(output.Observations); // still open: the interval has not passed in event time
        p.OnRead(Reads.At("r", 1, "FF00", 11_200_000), output); // another tag moves event time on

        var o = Assert.Single(output.Observations, x => x.Epc == Epc.ParseHex("AB01"));
        Assert.Equal("r", o.ReaderId);
        Assert.Equal(1, o.Antenna);
        Assert.Equal("shelf", o.Zone);
        Assert.Equal(10_000_000, o.FirstSeenUs);
        Assert.Equal(10_950_000, o.LastSeenUs);
        Assert.Equal(4, o.ReadCount);
        Assert.Equal(7, o.SeenCount);
        Assert.Equal(-5000, o.PeakRssiCentiDbm);
        Assert.Equal(-5500, o.MeanRssiCentiDbm); // the read without RSSI is counted, not averaged
    }

    [Fact]
    public void Read_after_the_interval_starts_a_new_observation_and_antennas_are_kept_apart()
    {
        var p = new WindowingProcessor(Options);
        var output = new RecordingOutput();

        p.OnRead(Reads.At("r", 1, "AB01", 10_000_000), output);
        p.OnRead(Reads.At("r", 2, "AB01", 10_100_000), output);
        p.OnRead(Reads.At("r", 1, "AB01", 11_000_000), output); // exactly one interval later: a new one
        p.Flush(output);

        Assert.Equal(3, output.Observations.Count);
        Assert.Equal([(1, 10_000_000L), (2, 10_100_000L), (1, 11_000_000L)], output.Observations.Select(o => ((int)o.Antenna, o.FirstSeenUs)));
        Assert.Null(output.Observations[1].Zone); // antenna 2 is in no zone
        Assert.All(output.Observations, o => Assert.Equal(1, o.ReadCount));
    }

    [Fact]
    public void Too_many_open_observations_close_the_oldest_early_and_count_it()
    {
        var p = new WindowingProcessor(Options with { MaxOpenObservations = 2 });
        var output = new RecordingOutput();

        p.OnRead(Reads.At("r", 1, "01", 10_000_000), output);
        p.OnRead(Reads.At("r", 1, "02", 10_000_100), output);
        p.OnRead(Reads.At("r", 1, "03", 10_000_200), output);
        p.Flush(output);

        Assert.Equal(["01", "02", "03"], output.Observations.Select(o => o.Epc.ToString()));
        Assert.Equal(1, p.Stats.ObservationsClosedEarly);
    }
}
