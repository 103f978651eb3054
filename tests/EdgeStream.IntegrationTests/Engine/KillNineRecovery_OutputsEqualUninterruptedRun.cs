using EdgeStream.Engine.TestHost;

namespace EdgeStream.Tests.Engine;

/// <summary>
/// A stream-service process is killed with SIGKILL at random points of a run, again and again, and
/// restarted each time from its checkpoints; what reaches the idempotent sink (and the side output)
/// must be exactly what one uninterrupted run produces: nothing lost, nothing different, no duplicate
/// effect.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class KillNineRecovery_OutputsEqualUninterruptedRun
{
    private const int Partitions = 3;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData(11, 6)]
    [InlineData(23, 6)]
    public async Task Outputs_after_repeated_kill_nine_and_restart_equal_the_uninterrupted_run(int seed, int kills)
    {
        using var run = EngineRunFolders.Create("kill9");
        run.WriteLog(seed, 120_000, Partitions);
        var all = string.Join(',', Enumerable.Range(0, Partitions));

        var referenceOut = run.File("reference.out");
        using (var reference = EngineHostProcess.Start(run.Log, run.CheckpointFolder("reference-checkpoints"), referenceOut, Partitions, all, paceMs: 0, exitWhenEnded: true))
        {
            Assert.Equal(0, await reference.WaitForExitAsync(Generous));
        }

        var expected = FileOutputSink.ReadStore([referenceOut]);
        Assert.True(expected.Store.Count > 10_000, $"reference produced only {expected.Store.Count} outputs");
        Assert.Equal(0, expected.Conflicts);
        var referenceLength = new FileInfo(referenceOut).Length;

        var checkpoints = run.CheckpointFolder("checkpoints");
        var crashOut = run.File("crash.out");
        var rng = new Random(seed);
        var resumedFromCheckpoint = 0;
        var killed = 0;
        for (var attempt = 0; attempt < kills; attempt++)
        {
            using var host = EngineHostProcess.Start(run.Log, checkpoints, crashOut, Partitions, all, paceMs: 10, exitWhenEnded: true);
            await host.WaitForLineAsync(l => l.StartsWith("assigned", StringComparison.Ordinal), Generous);

            // Kill once the sink has grown by a random amount (zero included: right after start).
            var start = File.Exists(crashOut) ? new FileInfo(crashOut).Length : 0;
            var target = start + (long)(rng.NextDouble() * referenceLength / 6);
            using var wait = new CancellationTokenSource(Generous);
            while (!host.HasExited && (File.Exists(crashOut) ? new FileInfo(crashOut).Length : 0) < target)
            {
                await Task.Delay(5, wait.Token);
            }

            if (host.HasExited)
            {
                break;
            }

            await host.KillNineAsync();
            killed++;
            resumedFromCheckpoint += host.Lines.Count(l => l.StartsWith("assigned", StringComparison.Ordinal) && !l.EndsWith(" at 0", StringComparison.Ordinal));
        }

        using (var last = EngineHostProcess.Start(run.Log, checkpoints, crashOut, Partitions, all, paceMs: 0, exitWhenEnded: true))
        {
            Assert.Equal(0, await last.WaitForExitAsync(Generous));
            resumedFromCheckpoint += last.Lines.Count(l => l.StartsWith("assigned", StringComparison.Ordinal) && !l.EndsWith(" at 0", StringComparison.Ordinal));
        }

        var actual = FileOutputSink.ReadStore([crashOut]);
        Assert.True(killed >= kills / 2, $"only {killed} of {kills} runs were killed before they finished");
        Assert.True(resumedFromCheckpoint > 0, "no incarnation resumed from a checkpoint");
        Assert.Equal(0, actual.Conflicts);
        Assert.Equal(expected.Store.Count, actual.Store.Count);
        Assert.Equal(expected.Store, actual.Store);

        // The late side output is the same set of records too.
        static HashSet<string> Side(string path) => [.. File.ReadAllLines(path + ".side").Where(l => l.Length > 0)];
        var expectedSide = Side(referenceOut);
        Assert.NotEmpty(expectedSide);
        Assert.Equal(expectedSide, Side(crashOut));
    }
}
