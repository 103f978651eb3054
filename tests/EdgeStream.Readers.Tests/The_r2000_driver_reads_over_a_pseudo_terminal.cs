using EdgeStream.Contracts;
using EdgeStream.Emulators;
using EdgeStream.Readers;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers.Tests;

/// <summary>
/// The R2000 driver opens a real pseudo-terminal (socat) as a serial port and reads the emulated
/// module: one antenna with real-time inventory, several with fast antenna switching.
/// </summary>
[Trait("Capability", "Readers")]
public sealed class The_r2000_driver_reads_over_a_pseudo_terminal
{
    internal static readonly Scenario TwoAntennas = Scenario.Parse("""
        { "tickMs": 30, "antennas": 4, "periodMs": 1000, "tags": [
          { "epc": "3034257BF400B7800004CB2F", "sightings": [ { "antenna": 1, "fromMs": 0, "toMs": 1000, "rssiFrom": -60, "rssiPeak": -40, "rssiTo": -60 } ] },
          { "epc": "E28011902000050A1B2C0003", "sightings": [ { "antenna": 3, "fromMs": 0, "toMs": 1000 } ] } ] }
        """);

    /// <summary>A module serving <see cref="TwoAntennas"/> in a loop with the given faults (emulator syntax, e.g. "stall-after=3"); not started.</summary>
    internal static R2000Emulator LoopingWithFaults(params string[] faults) =>
        new(new R2000EmulatorOptions { Scenario = TwoAntennas, Loop = true, Faults = R2000Faults.Parse(faults) });

    [Theory]
    [InlineData("antennas=1", new ushort[] { 1 })]
    [InlineData("antennas=1,3", new ushort[] { 1, 3 })]
    public async Task Reads_arrive_with_antenna_and_rssi(string query, ushort[] antennas)
    {
        await using var emulator = LoopingWithFaults();
        await emulator.StartAsync();
        await using var driver = ReaderDrivers.Create($"serial://{emulator.DevicePath}?protocol=r2000&baud=115200&{query}", "module-1", NullLoggerFactory.Instance);
        var sink = new TestSink();
        using var stop = new CancellationTokenSource();
        var run = driver.RunAsync(sink, stop.Token);

        await Wait.UntilAsync(() => sink.Reads.Select(r => r.Antenna).Distinct().Count() == antennas.Length && sink.ReadCount >= 10, sink.Describe);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(sink.Reads, r =>
        {
            Assert.Equal(SourceKind.Serial, r.Source);
            Assert.Contains(r.Antenna, antennas);
            Assert.InRange(r.RssiCentiDbm, -7000, -4000);
            Assert.Equal(0, r.RssiCentiDbm % 100);
        });
        Assert.Equal(antennas.Order(), sink.Reads.Select(r => r.Antenna).Distinct().Order());
        Assert.Contains(sink.Reads, r => r.Epc.ToString() == "3034257BF400B7800004CB2F" && r.Antenna == 1);
        Assert.Equal(1, sink.Count(ReaderEventKind.Connected));
    }
}
