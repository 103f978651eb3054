using EdgeStream.Contracts;
using Xunit.Abstractions;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class A_tag_walking_a_corridor(ITestOutputHelper log)
{
    [Fact]
    public void Tag_walked_down_the_corridor_gives_the_exact_arrive_move_depart_sequence()
    {
        var run = ScenarioRun.Execute(ScenarioScript.Load("corridor.json"));

        log.WriteLine(run.Output.Describe());
        run.AssertMatchesGroundTruth();
        Assert.Equal(0, run.Processor.Stats.ReadsLate);
    }

    [Fact]
    public void Zone_spanning_two_readers_is_one_zone_and_unzoned_antenna_is_ignored()
    {
        var run = ScenarioRun.Execute(ScenarioScript.Load("corridor.json"));

        // The walk passes reader-a antenna 3 then reader-b antenna 1, both corridor-west: no move between them.
        var first = run.EventsOf("30340242201D884000000001");
        Assert.Single(first, p => p.Zone == "corridor-west");

        // reader-b antenna 4 is in no zone: its reads are summarised without a zone and never arbitrated.
        var unzoned = run.Output.Observations.Where(o => o is { ReaderId: "reader-b", Antenna: 4 }).ToList();
        Assert.NotEmpty(unzoned);
        Assert.All(unzoned, o => Assert.Null(o.Zone));
        Assert.Equal(unzoned.Sum(o => o.ReadCount), run.Processor.Stats.ReadsUnzoned);
        Assert.DoesNotContain(run.Output.Presence, p => p.Zone is null);
    }

    [Fact]
    public void Every_read_is_summarised_and_the_uplink_carries_far_fewer_records()
    {
        var run = ScenarioRun.Execute(ScenarioScript.Load("corridor.json"));

        run.AssertEveryReadObserved();
        var uploaded = run.Output.Observations.Count + run.Output.Presence.Count;
        Assert.True(run.Reads.Count >= 10 * uploaded, $"{run.Reads.Count} reads became {uploaded} records");
        Assert.All(run.Output.Observations, o =>
        {
            Assert.True(o.LastSeenUs - o.FirstSeenUs < 1_000_000, "an observation spans less than the dedupe interval");
            Assert.True(o.PeakRssiCentiDbm >= o.MeanRssiCentiDbm);
        });
        Assert.Equal(10, run.Processor.Stats.Arrivals + run.Processor.Stats.Moves + run.Processor.Stats.Departures);
        Assert.Equal(PresenceKind.Depart, run.Output.Presence[^1].Kind);
    }
}
