using EdgeStream.Engine.TestHost;
using EdgeStream.EventLog.Embedded;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// The stream service reads the embedded event log through its consumer group; it is killed with
/// SIGKILL at random points, again and again, and restarted from its checkpoints each time. What reaches
/// the idempotent sink (and the late side output) equals one uninterrupted run's exactly.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class Kill_9_recovery_on_the_embedded_log_gives_the_outputs_of_an_uninterrupted_run
{
    private const int Partitions = 3;

    [Theory]
    [InlineData(41, 6)]
    [InlineData(43, 6)]
    public async Task Outputs_after_repeated_kill_nine_and_restart_on_the_embedded_log_equal_the_uninterrupted_run(int seed, int kills)
    {
        using var run = EngineRunFolders.Create("kill9-embedded");
        await using (var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = run.Log, Partitions = Partitions }))
        {
            await EngineRunFolders.AppendAsync(log, seed, 90_000);
        }

        await KillNineDriver.AssertKilledRunsEqualTheUninterruptedRunAsync(
            run,
            (checkpoints, output, group, paceMs, exitWhenEnded) => EngineHostProcess.Start(
                run.Log, checkpoints, output, Partitions, "", paceMs, exitWhenEnded, extra: ["--log-kind", "embedded", "--group", group]),
            seed,
            kills);
    }
}
