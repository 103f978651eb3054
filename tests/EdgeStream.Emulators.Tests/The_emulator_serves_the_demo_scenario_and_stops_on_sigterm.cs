using EdgeStream.Readers;

namespace EdgeStream.Emulators.Tests;

/// <summary>
/// The emulator executable, started as the demo starts it, prints its port, serves the hospital
/// scenario to the tap probe with real timestamps on all four antennas, and exits 0 on SIGTERM.
/// </summary>
[Trait("Capability", "Readers")]
public sealed class The_emulator_serves_the_demo_scenario_and_stops_on_sigterm
{
    [Fact]
    public async Task Demo_scenario_is_served_over_llrp_and_sigterm_stops_it()
    {
        await using var emulator = await EmulatorProcess.StartAsync(
            "llrp", "--scenario", EmulatorProcess.RepoFile("hardware/scenarios/demo-hospital.json"), "--port", "0", "--loop");
        Assert.Matches(@"^127\.0\.0\.1:\d+$", emulator.Endpoint);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await TapCommand.RunAsync([$"llrp://{emulator.Endpoint}", "--limit", "20", "--timeout", "60"], stdout, stderr, CancellationToken.None);

        Assert.True(code == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, lines.Length);
        Assert.Contains(lines, l => l.Contains("\"epc\":\"3034257BF400B7800004CB2F\"", StringComparison.Ordinal));
        Assert.Equal(0, await emulator.TerminateAsync());
    }
}
