using EdgeStream.Readers;

namespace EdgeStream.Emulators.Tests;

/// <summary>
/// The emulator executable in r2000 mode prints its /dev/pts path; tap reads the hospital scenario
/// from it through the serial driver; SIGTERM stops it cleanly.
/// </summary>
[Trait("Capability", "Readers")]
public sealed class The_emulator_serves_an_r2000_on_a_pseudo_terminal
{
    [Fact]
    public async Task Tap_reads_the_pty_the_emulator_announces()
    {
        await using var emulator = await EmulatorProcess.StartAsync(
            "r2000", "--scenario", EmulatorProcess.RepoFile("hardware/scenarios/demo-hospital.json"), "--loop");
        Assert.Matches(@"^/dev/pts/\d+$", emulator.Endpoint);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await TapCommand.RunAsync([$"serial://{emulator.Endpoint}?protocol=r2000&antennas=1,2,3,4", "--limit", "8", "--timeout", "60"], stdout, stderr, CancellationToken.None);

        Assert.True(code == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(8, lines.Length);
        Assert.All(lines, l => Assert.Contains($"\"reader\":\"{emulator.Endpoint}\"", l, StringComparison.Ordinal));
        Assert.Equal(0, await emulator.TerminateAsync());
    }
}
