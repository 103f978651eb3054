using EdgeStream.Contracts;
using EdgeStream.Llrp.Model;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>
/// Over real TCP, the client runs the whole connection sequence, the ROSpec carries the configured
/// antennas, power, session and search mode, reads arrive with the reader's timestamps, keepalives are
/// acknowledged, and shutdown closes the connection politely.
/// </summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_streams_configured_reads_from_an_emulator
{
    [Fact]
    public async Task Reads_flow_with_configured_rospec_and_polite_close()
    {
        var before = EventTimes.NowUs();
        await using var run = await Emulated.StartAsync("antennas=1,2&power=30&session=2&searchmode=2&report-every=1");

        await Wait.UntilAsync(() => run.Sink.ReadCount >= 20 && run.Emulator.KeepaliveAcks >= 1, run.Sink.Describe);

        var spec = run.Emulator.LastROSpec!;
        Assert.Equal([(ushort)1, (ushort)2], spec.AntennaIds);
        Assert.Equal(ROSpecStartTriggerType.Null, spec.StartTrigger);
        Assert.Equal(1, run.Emulator.StartRequests);
        var antenna = spec.AntennaConfigurations[0];
        Assert.Equal(81, antenna.RfTransmitter!.TransmitPowerIndex); // 10 dBm + 80 × 0.25 dB = 30 dBm.
        Assert.Equal(2, antenna.C1G2InventoryCommand!.SingulationControl!.Session);
        Assert.Equal((ushort)2, antenna.C1G2InventoryCommand.ImpinjSearchMode);
        Assert.Equal((ushort)1, spec.ROReportSpec!.N);
        Assert.True(run.Emulator.LastConfig!.ResetToFactoryDefaults);
        Assert.Equal(new KeepaliveSpec(1, 200), run.Emulator.LastConfig.KeepaliveSpec);

        var reads = run.Sink.Reads;
        Assert.All(reads, r =>
        {
            Assert.Equal(SourceKind.Llrp, r.Source);
            Assert.Equal("dock-1", r.ReaderId);
            Assert.InRange(r.EventTimeUs, before, EventTimes.NowUs());
            Assert.InRange(r.RssiCentiDbm, -7000, -4000);
        });
        Assert.Contains(reads, r => r.Epc.ToString() == "300833B2DDD9014000000001" && r.Antenna == 1);
        Assert.Contains(reads, r => r.Epc.ToString() == "E2801160600002" && r.Antenna == 2 && r.Epc.BitLength == 56);
        Assert.Contains(reads, r => r.RssiCentiDbm % 100 != 0); // Impinj peak RSSI, finer than whole dBm.
        Assert.True(run.Sink.Count(ReaderEventKind.Connected) == 1, run.Sink.Describe());

        await run.StopAsync();
        await Wait.UntilAsync(() => run.Emulator.CloseRequests == 1, () => "no CLOSE_CONNECTION");
    }
}
