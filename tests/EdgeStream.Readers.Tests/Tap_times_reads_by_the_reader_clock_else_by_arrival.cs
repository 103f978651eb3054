using System.Globalization;
using System.Text.Json;
using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>
/// A read's time is the reader's FirstSeenTimestampUTC when it sends one, even when the reader's
/// clock is an hour off; when it sends none, the client's arrival time. The emulated reader's clock
/// is set an hour behind so the two sources cannot be confused.
/// </summary>
[Trait("Capability", "Readers")]
public sealed class Tap_times_reads_by_the_reader_clock_else_by_arrival
{
    private static Scenario HourBehind(bool sendFirstSeen) => Emulated.Busy with { ClockOffsetMs = -3_600_000, SendFirstSeen = sendFirstSeen };

    [Theory]
    [InlineData(true, -3600)]
    [InlineData(false, 0)]
    public async Task Time_comes_from_the_reader_when_it_has_one(bool sendFirstSeen, int expectedOffsetSeconds)
    {
        await using var emulator = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = HourBehind(sendFirstSeen), Loop = true });
        await emulator.StartAsync();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var before = DateTime.UtcNow;

        var code = await TapCommand.RunAsync([$"llrp://127.0.0.1:{emulator.Port}", "--limit", "4", "--timeout", "60"], stdout, stderr, CancellationToken.None);
        var after = DateTime.UtcNow;

        Assert.True(code == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var time = DateTime.Parse(doc.RootElement.GetProperty("time").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            Assert.InRange(time, before.AddSeconds(expectedOffsetSeconds - 1), after.AddSeconds(expectedOffsetSeconds + 1));
        }
    }
}
