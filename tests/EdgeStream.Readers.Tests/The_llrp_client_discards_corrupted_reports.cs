using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>A report whose inside is corrupt but whose frame is intact is discarded and counted; the connection stays up.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_discards_corrupted_reports
{
    [Fact]
    public async Task Corrupted_reports_are_counted_and_the_link_stays_up()
    {
        await using var run = await Emulated.StartAsync("report-every=1", LlrpFaults.Parse(["corrupt-every=3"]));

        await Wait.UntilAsync(() => run.Counters.FramesRejected >= 3 && run.Sink.ReadCount >= 6, run.Sink.Describe);

        Assert.True(run.Counters.Connects == 1, run.Sink.Describe());
        Assert.Equal(0, run.Sink.Count(ReaderEventKind.Disconnected));
        Assert.Contains(run.Sink.Events, e => e.Kind == ReaderEventKind.FrameRejected && e.Message.Contains("RO_ACCESS_REPORT", StringComparison.Ordinal));

        // Every third report was lost, the others delivered: reads ≈ 2/3 of the reports sent.
        Assert.True(run.Counters.Reads <= run.Emulator.TagsSent - run.Counters.FramesRejected);
    }
}
