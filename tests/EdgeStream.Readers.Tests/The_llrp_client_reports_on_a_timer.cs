using EdgeStream.Llrp.Model;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>With report-ms the client adds a periodic ROSpec (no START_ROSPEC needed) reporting at the end of each period.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_reports_on_a_timer
{
    [Fact]
    public async Task Periodic_rospec_is_configured_and_reads_flow_without_start()
    {
        await using var run = await Emulated.StartAsync("report-ms=500");

        await Wait.UntilAsync(() => run.Sink.ReadCount >= 10, run.Sink.Describe);

        var spec = run.Emulator.LastROSpec!;
        Assert.Equal(ROSpecStartTriggerType.Periodic, spec.StartTrigger);
        Assert.Equal(500u, spec.PeriodMs);
        Assert.Equal(ROSpecStopTriggerType.Duration, spec.StopTrigger);
        Assert.Equal(500u, spec.StopDurationMs);
        Assert.Equal((ushort)0, spec.ROReportSpec!.N);
        Assert.Equal((byte)ROReportTriggerType.UponNTagsOrEndOfROSpec, spec.ROReportSpec.Trigger);
        Assert.Equal(0, run.Emulator.StartRequests);
        Assert.Equal(1, run.Sink.Count(ReaderEventKind.Connected));
    }
}
