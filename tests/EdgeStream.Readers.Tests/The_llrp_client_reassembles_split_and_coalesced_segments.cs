using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>Messages cut into 3-byte segments, or many messages in one segment, decode the same.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_reassembles_split_and_coalesced_segments
{
    [Theory]
    [InlineData("split=3")]
    [InlineData("coalesce")]
    public async Task Segmentation_does_not_change_what_is_read(string fault)
    {
        await using var run = await Emulated.StartAsync("report-every=1", LlrpFaults.Parse([fault]));

        await Wait.UntilAsync(() => run.Sink.ReadCount >= 30 && run.Emulator.KeepaliveAcks >= 1, run.Sink.Describe);

        Assert.True(run.Counters.Connects == 1, run.Sink.Describe());
        Assert.Equal(0, run.Counters.FramesRejected);
        Assert.Contains(run.Sink.Reads, r => r.Epc.ToString() == "300833B2DDD9014000000001");
        Assert.Contains(run.Sink.Reads, r => r.Epc.ToString() == "E2801160600002");
    }
}
