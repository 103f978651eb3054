using EdgeStream.Readers;
using EdgeStream.Readers.Serial;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers.Tests;

/// <summary>A module that stops answering is declared dead after the read timeout; the driver reopens the line and reads again.</summary>
[Trait("Capability", "Readers")]
public sealed class The_r2000_driver_reopens_a_stalled_line
{
    [Fact]
    public async Task Silent_module_is_declared_dead_and_reading_resumes()
    {
        await using var emulator = The_r2000_driver_reads_over_a_pseudo_terminal.LoopingWithFaults("stall-after=3", "stall-ms=3000");
        await emulator.StartAsync();
        await using var driver = (R2000ReaderDriver)ReaderDrivers.Create(
            $"serial://{emulator.DevicePath}?protocol=r2000&antennas=1&read-timeout-ms=1000&backoff-min-ms=50&backoff-max-ms=500", "module-1", NullLoggerFactory.Instance);
        var sink = new TestSink();
        using var stop = new CancellationTokenSource();
        var run = driver.RunAsync(sink, stop.Token);

        await Wait.UntilAsync(() => driver.Counters.Connects >= 2 && emulator.Rounds > 6, sink.Describe, 60);
        var readsAfter = sink.ReadCount;
        await Wait.UntilAsync(() => sink.ReadCount > readsAfter, sink.Describe);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains(sink.Events, e => e.Kind is ReaderEventKind.Disconnected or ReaderEventKind.Error && e.Message.Contains("declared dead", StringComparison.Ordinal));
    }
}
