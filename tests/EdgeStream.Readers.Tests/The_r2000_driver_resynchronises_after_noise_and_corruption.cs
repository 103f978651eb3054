using EdgeStream.Readers;
using EdgeStream.Readers.Serial;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers.Tests;

/// <summary>Line noise and corrupted frames on a real pty are counted, never read, and reading carries on.</summary>
[Trait("Capability", "Readers")]
public sealed class The_r2000_driver_resynchronises_after_noise_and_corruption
{
    [Fact]
    public async Task Noise_and_bad_checksums_are_counted_and_not_emitted()
    {
        await using var emulator = The_r2000_driver_reads_over_a_pseudo_terminal.LoopingWithFaults("noise-every=2", "corrupt-every=3");
        await emulator.StartAsync();
        await using var driver = (R2000ReaderDriver)ReaderDrivers.Create($"serial://{emulator.DevicePath}?protocol=r2000&antennas=1,3", "module-1", NullLoggerFactory.Instance);
        var sink = new TestSink();
        using var stop = new CancellationTokenSource();
        var run = driver.RunAsync(sink, stop.Token);

        await Wait.UntilAsync(() => driver.Counters.FramesRejected >= 5 && sink.ReadCount >= 10, sink.Describe);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(driver.NoiseBytes > 0);
        Assert.Equal(1, driver.Counters.Connects);
        var known = new[] { "3034257BF400B7800004CB2F", "E28011902000050A1B2C0003" };
        Assert.All(sink.Reads, r => Assert.Contains(r.Epc.ToString(), known));
        Assert.Contains(sink.Events, e => e.Kind == ReaderEventKind.FrameRejected);
    }
}
