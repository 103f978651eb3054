using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

/// <summary>
/// The property that makes the edge's output trustworthy: however the reads of several readers interleave
/// on the way to the gateway, as long as no read is later than the reorder tolerance, the presence events
/// and observations are the same, event for event.
/// </summary>
[Trait("Capability", "Windowing")]
public sealed class Interleaved_reads
{
    [Theory]
    [InlineData("corridor.json")]
    [InlineData("boundary-parking.json")]
    [InlineData("shielding.json")]
    [InlineData("skewed-clocks.json")]
    public void Random_interleavings_within_the_tolerance_give_identical_output(string scenario)
    {
        var script = ScenarioScript.Load(scenario);
        var reads = script.Expand().Select(r => r.Read).ToList();
        var toleranceUs = script.Windowing.ReorderToleranceMs * 1000L;

        // Disorder is measured on the processor's time line, after the configured reader clock offsets.
        var offsets = script.Windowing.Readers.ToDictionary(r => r.Id, r => r.ClockOffsetMs * 1000L);
        long Corrected(TagRead r) => r.EventTimeUs + offsets.GetValueOrDefault(r.ReaderId);
        var baseline = Run(script.Windowing, reads.OrderBy(Corrected));
        Assert.NotEmpty(baseline.Presence);

        for (var seed = 1; seed <= 25; seed++)
        {
            var rng = new Random(seed);

            // Each read is delayed by less than the tolerance, so any read that overtakes it is less than the
            // tolerance newer: exactly the disorder the processor promises to absorb. Ties are broken at random.
            var shuffled = reads
                .Select(r => (Read: r, Arrival: Corrected(r) + rng.NextInt64(0, toleranceUs), Tie: rng.Next()))
                .OrderBy(x => x.Arrival).ThenBy(x => x.Tie)
                .Select(x => x.Read);

            var run = Run(script.Windowing, shuffled);

            Assert.Equal(0, run.Late);
            Assert.Equal(baseline.Presence, run.Presence);
            Assert.Equal(baseline.Observations, run.Observations);
        }
    }

    [Fact]
    public void Equal_timestamps_from_different_readers_are_ordered_by_content_not_arrival()
    {
        var options = new WindowingOptions
        {
            Zones =
            [
                new ZoneOptions { Name = "a", Antennas = [new AntennaOptions { Reader = "r1", Antenna = 1 }] },
                new ZoneOptions { Name = "b", Antennas = [new AntennaOptions { Reader = "r2", Antenna = 1 }] },
            ],
            Arbitration = new ArbitrationOptions { MinReads = 1, MoveMarginDb = 0, HoldOffMs = 0 },
        };
        var reads = new List<TagRead>();
        for (var i = 0; i < 20; i++)
        {
            var t = 1_000_000 + (i * 10_000L);
            reads.Add(Reads.At("r1", 1, "CC", t, (short)(-5000 - (i * 13 % 7 * 100))));
            reads.Add(Reads.At("r2", 1, "CC", t, (short)(-5000 - (i * 11 % 5 * 100))));
        }

        var forward = Run(options, reads);
        reads.Reverse();
        var backward = Run(options, reads.OrderBy(r => r.EventTimeUs).ThenByDescending(r => r.ReaderId, StringComparer.Ordinal));

        Assert.Equal(forward.Presence, backward.Presence);
        Assert.Equal(forward.Observations, backward.Observations);
    }

    private static (List<PresenceEvent> Presence, List<TagObservation> Observations, long Late) Run(WindowingOptions options, IEnumerable<TagRead> reads)
    {
        var processor = new WindowingProcessor(options);
        var output = new RecordingOutput();
        foreach (var r in reads)
        {
            processor.OnRead(r, output);
        }

        processor.Flush(output);
        return (output.Presence, output.Observations, processor.Stats.ReadsLate);
    }
}
