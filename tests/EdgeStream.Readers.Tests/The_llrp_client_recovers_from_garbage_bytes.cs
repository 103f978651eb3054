using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>Bytes that are not LLRP break the stream's framing: the frame is rejected and counted, the link rebuilt, no read invented.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_recovers_from_garbage_bytes
{
    [Fact]
    public async Task Garbage_is_rejected_counted_and_followed_by_a_reconnect()
    {
        await using var run = await Emulated.StartAsync(faults: LlrpFaults.Parse(["garbage-after=2"]));

        await Wait.UntilAsync(() => run.Counters.Connects >= 2 && run.Counters.FramesRejected >= 1, run.Sink.Describe);

        Assert.Contains(run.Sink.Events, e => e.Kind == ReaderEventKind.FrameRejected && e.Message.Contains("version", StringComparison.Ordinal));
        var known = new[] { "300833B2DDD9014000000001", "E2801160600002" };
        Assert.All(run.Sink.Reads, r => Assert.Contains(r.Epc.ToString(), known));
    }
}
