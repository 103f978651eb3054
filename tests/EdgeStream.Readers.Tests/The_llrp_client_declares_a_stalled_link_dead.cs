using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>The reader goes silent with the socket open: the keepalive deadline declares the link dead and the client reconnects.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_declares_a_stalled_link_dead
{
    [Fact]
    public async Task Silence_past_the_keepalive_deadline_drops_and_reconnects()
    {
        await using var run = await Emulated.StartAsync("dead-after=10", faults: LlrpFaults.Parse(["stall-after=2"]));

        await Wait.UntilAsync(() => run.Counters.Connects >= 2, run.Sink.Describe);

        var dead = run.Sink.Events.First(e => e.Kind == ReaderEventKind.Disconnected);
        Assert.Contains("declared dead", dead.Message, StringComparison.Ordinal);
        Assert.Contains("keepalive deadline", dead.Message, StringComparison.Ordinal);
    }
}
