using EdgeStream.Engine.TestHost;
namespace EdgeStream.Engine.Tests;

/// <summary>
/// A stream-service process is killed with SIGKILL at random points of a run, again and again, and
/// restarted each time from its checkpoints; what reaches the idempotent sink (and the side output)
/// must be exactly what one uninterrupted run produces: nothing lost, nothing different, no duplicate
/// effect.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class Kill_9_recovery_gives_the_outputs_of_an_uninterrupted_run
{
    private const int Partitions = 3;

    [Theory]
    [InlineData(11, 6)]
    [InlineData(23, 6)]
    public async Task Outputs_after_repeated_kill_nine_and_restart_equal_the_uninterrupted_run(int seed, int kills)
    {
        using var run = EngineRunFolders.Create("kill9");
        run.WriteLog(seed, 120_000, Partitions);
        var all = string.Join(',', Enumerable.Range(0, Partitions));

        // The file log has no consumer group: every incarnation is given all partitions.
        await KillNineDriver.AssertKilledRunsEqualTheUninterruptedRunAsync(
            run,
            (checkpoints, output, group, paceMs, exitWhenEnded) => EngineHostProcess.Start(run.Log, checkpoints, output, Partitions, all, paceMs, exitWhenEnded),
            seed,
            kills,
            minimumOutputs: 10_000);
    }
}
