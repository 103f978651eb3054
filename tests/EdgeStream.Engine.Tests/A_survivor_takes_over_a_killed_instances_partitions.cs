using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// Two stream-service processes split four partitions and share one checkpoint store. One is killed
/// with SIGKILL mid-run; its partitions are assigned to the survivor (as a consumer group's rebalance
/// would), which restores them from the dead instance's latest checkpoints and finishes the run. The
/// union of what both wrote equals one uninterrupted run.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class A_survivor_takes_over_a_killed_instances_partitions
{
    private const int Partitions = 4;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task The_survivor_resumes_the_killed_instances_partitions_from_their_checkpoints()
    {
        using var run = EngineRunFolders.Create("scaleout");
        run.WriteLog(31, 100_000, Partitions);

        var referenceOut = run.File("reference.out");
        using (var reference = EngineHostProcess.Start(run.Log, run.CheckpointFolder("reference-checkpoints"), referenceOut, Partitions, "0,1,2,3", paceMs: 0, exitWhenEnded: true))
        {
            Assert.Equal(0, await reference.WaitForExitAsync(Generous));
        }

        var expected = FileOutputSink.ReadStore([referenceOut]);

        var shared = run.CheckpointFolder("shared-checkpoints");
        var outA = run.File("a.out");
        var outB = run.File("b.out");
        using var a = EngineHostProcess.Start(run.Log, shared, outA, Partitions, "0,1", paceMs: 15, exitWhenEnded: false);
        using var b = EngineHostProcess.Start(run.Log, shared, outB, Partitions, "2,3", paceMs: 15, exitWhenEnded: false);
        await a.WaitForLineAsync(l => l == "assigned 1 at 0", Generous);

        // Let A get partway: a few checkpoints of its partitions in the shared store.
        using (var cts = new CancellationTokenSource(Generous))
        {
            static int Checkpoints(string folder) => Directory.Exists(folder) ? Directory.GetFiles(folder, "*.ckpt").Length : 0;
            while (Checkpoints(Path.Combine(shared, "p00000")) < 3 || Checkpoints(Path.Combine(shared, "p00001")) < 3)
            {
                await Task.Delay(10, cts.Token);
            }
        }

        await a.KillNineAsync();
        Assert.DoesNotContain(a.Lines, l => l.StartsWith("ended", StringComparison.Ordinal));

        await b.SendAsync("assign 0,1");
        foreach (var p in Enumerable.Range(0, Partitions))
        {
            await b.WaitForLineAsync(l => l == $"ended {p}", Generous);
        }

        await b.SendAsync("exit");
        Assert.Equal(0, await b.WaitForExitAsync(Generous));

        // The survivor took over from checkpoints, not from the start of the log.
        Assert.Contains(b.Lines, l => l.StartsWith("assigned 0 at ", StringComparison.Ordinal) && l != "assigned 0 at 0");
        Assert.Contains(b.Lines, l => l.StartsWith("assigned 1 at ", StringComparison.Ordinal) && l != "assigned 1 at 0");

        var actual = FileOutputSink.ReadStore([outA, outB]);
        Assert.Equal(0, actual.Conflicts);
        Assert.Equal(expected.Store, actual.Store);
    }
}
