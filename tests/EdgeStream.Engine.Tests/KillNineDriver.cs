using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// The kill -9 scenario on any log: one uninterrupted reference run, then runs killed with SIGKILL at
/// random points and restarted from their checkpoints, then a last run to the end; what reached the
/// durable idempotent sinks must equal the reference exactly.
/// </summary>
internal static class KillNineDriver
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    /// <summary>Starts a host writing to <c>out</c> with checkpoints in <c>checkpoints</c>, as a member of <c>group</c>.</summary>
    public delegate EngineHostProcess StartHost(string checkpoints, string output, string group, int paceMs, bool exitWhenEnded);

    public static async Task AssertKilledRunsEqualTheUninterruptedRunAsync(EngineRunFolders run, StartHost start, int seed, int kills, int minimumOutputs = 5_000)
    {
        var referenceOut = run.File("reference.out");
        using (var reference = start(run.CheckpointFolder("reference-checkpoints"), referenceOut, "reference", paceMs: 0, exitWhenEnded: true))
        {
            Assert.Equal(0, await reference.WaitForExitAsync(Generous));
        }

        var expected = FileOutputSink.ReadStore([referenceOut]);
        Assert.True(expected.Store.Count > minimumOutputs, $"reference produced only {expected.Store.Count} outputs");
        Assert.Equal(0, expected.Conflicts);
        var referenceLength = new FileInfo(referenceOut).Length;

        var checkpoints = run.CheckpointFolder("checkpoints");
        var crashOut = run.File("crash.out");
        var rng = new Random(seed);
        var resumedFromCheckpoint = 0;
        var killed = 0;
        for (var attempt = 0; attempt < kills; attempt++)
        {
            // Paced so an incarnation lasts a few seconds: the engine reads a 256-record batch in well under
            // a millisecond, and the sink's file grows in buffered steps, so an unpaced run could finish
            // between two looks at its output and never be killed.
            using var host = start(checkpoints, crashOut, "crash", paceMs: 30, exitWhenEnded: true);
            await host.WaitForLineAsync(l => l.StartsWith("assigned", StringComparison.Ordinal), Generous);

            // Kill once the sink has grown by a random amount (zero included: right after start).
            var startLength = File.Exists(crashOut) ? new FileInfo(crashOut).Length : 0;
            var target = startLength + (long)(rng.NextDouble() * referenceLength / 6);
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
            resumedFromCheckpoint += ResumedLines(host);
        }

        using (var last = start(checkpoints, crashOut, "crash", paceMs: 0, exitWhenEnded: true))
        {
            Assert.Equal(0, await last.WaitForExitAsync(Generous));
            resumedFromCheckpoint += ResumedLines(last);
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

    private static int ResumedLines(EngineHostProcess host) =>
        host.Lines.Count(l => l.StartsWith("assigned", StringComparison.Ordinal) && !l.EndsWith(" at 0", StringComparison.Ordinal));
}
