using System.Globalization;
using System.Text.Json;
using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>The installer's probe connects to an emulated reader, prints exactly --limit JSON reads, and exits 0.</summary>
[Trait("Capability", "Readers")]
public sealed class Tap_prints_json_reads_from_an_llrp_reader
{
    [Fact]
    public async Task Limit_reads_are_printed_as_json_lines()
    {
        await using var emulator = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = Emulated.Busy, Loop = true });
        await emulator.StartAsync();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var before = DateTime.UtcNow;

        var code = await TapCommand.RunAsync([$"llrp://127.0.0.1:{emulator.Port}", "--limit", "7", "--timeout", "60"], stdout, stderr, CancellationToken.None);

        Assert.True(code == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            Assert.Matches("^[0-9A-F]+$", o.GetProperty("epc").GetString());
            Assert.InRange(o.GetProperty("antenna").GetInt32(), 1, 2);
            Assert.InRange(o.GetProperty("rssi").GetDouble(), -70.0, -40.0);
            var time = o.GetProperty("time").GetString()!;
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", time);
            Assert.InRange(DateTime.Parse(time, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), before.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));
            Assert.Equal($"127.0.0.1:{emulator.Port}", o.GetProperty("reader").GetString());
        }

        Assert.Contains("connected", stderr.ToString(), StringComparison.Ordinal);
        await Wait.UntilAsync(() => emulator.CloseRequests == 1, () => "tap did not close the connection");
    }

    [Fact]
    public async Task Timeout_with_no_tags_in_view_exits_zero_with_no_reads()
    {
        await using var emulator = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = Emulated.Quiet });
        await emulator.StartAsync();
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await TapCommand.RunAsync([$"llrp://127.0.0.1:{emulator.Port}", "--timeout", "10"], stdout, stderr, CancellationToken.None);

        Assert.True(code == 0, stderr.ToString());
        Assert.Equal(string.Empty, stdout.ToString());
    }
}
