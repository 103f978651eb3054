using EdgeStream.Contracts;
using EdgeStream.Windowing;
using Xunit.Abstractions;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class A_tag_parked_on_a_zone_boundary(ITestOutputHelper log)
{
    [Fact]
    public void Tag_parked_on_a_zone_boundary_arrives_once_and_never_flaps()
    {
        var run = ScenarioRun.Execute(ScenarioScript.Load("boundary-parking.json"));

        run.AssertMatchesGroundTruth();
        Assert.Equal(0, run.Processor.Stats.Moves);
    }

    [Fact]
    public void Without_margin_and_hold_off_the_same_tag_flaps_which_is_what_the_tuning_prevents()
    {
        // The control: the readings really do favour either bay in turn, so the test above can fail.
        var script = ScenarioScript.Load("boundary-parking.json");
        script = script with
        {
            Windowing = script.Windowing with
            {
                Arbitration = script.Windowing.Arbitration with { MoveMarginDb = 0, HoldOffMs = 0 },
            },
        };

        var run = ScenarioRun.Execute(script);

        log.WriteLine($"{run.Processor.Stats.Moves} moves without margin and hold-off");
        Assert.True(run.Processor.Stats.Moves >= 5, $"only {run.Processor.Stats.Moves} moves:{Environment.NewLine}{run.Output.Describe()}");
    }

    [Fact]
    public void Margin_and_hold_off_are_tunable_per_zone()
    {
        // bay-2 is made sticky, bay-1 is not: once the tag flaps into bay-2 it stays there.
        var script = ScenarioScript.Load("boundary-parking.json");
        var zones = script.Windowing.Zones.ToList();
        zones[0] = zones[0] with { Arbitration = new ArbitrationOverrides { MoveMarginDb = 0, HoldOffMs = 0 } };
        zones[1] = zones[1] with { Arbitration = new ArbitrationOverrides { MoveMarginDb = 20, HoldOffMs = 5000 } };
        script = script with
        {
            Windowing = script.Windowing with
            {
                Arbitration = script.Windowing.Arbitration with { MoveMarginDb = 0, HoldOffMs = 0 },
                Zones = zones,
            },
        };

        var run = ScenarioRun.Execute(script);

        var moves = run.Output.Presence.Where(p => p.Kind == PresenceKind.Move).ToList();
        Assert.InRange(moves.Count, 0, 1);
        Assert.All(moves, m => Assert.Equal("bay-2", m.Zone));
        Assert.Equal("bay-2", run.Output.Presence[^1].Zone);
    }
}
