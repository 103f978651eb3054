namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class A_shielded_tag
{
    [Fact]
    public void Tag_shielded_for_less_than_the_departure_timeout_does_not_depart()
    {
        var run = ScenarioRun.Execute(ScenarioScript.Load("shielding.json"));

        run.AssertMatchesGroundTruth();
        run.AssertEveryReadObserved();
    }

    [Fact]
    public void Departures_come_from_ticks_when_no_reads_arrive_at_all()
    {
        // After 20 s nothing is read; only the gateway's ticks move time on, and both tags depart at
        // last-seen + timeout in event time, however coarse the ticks.
        var script = ScenarioScript.Load("shielding.json") with { TickMs = 700 };

        var run = ScenarioRun.Execute(script);

        run.AssertMatchesGroundTruth();
        Assert.Equal(0, run.Processor.Stats.PresentTags);
        Assert.Equal(0, run.Processor.Stats.TrackedTags);
    }
}
