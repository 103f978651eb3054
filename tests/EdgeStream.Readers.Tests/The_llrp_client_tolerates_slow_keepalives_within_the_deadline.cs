using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>
/// On a quiet link only keepalives arrive. Late ones inside the deadline keep the link; ones later than
/// the deadline get it declared dead.
/// </summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_tolerates_slow_keepalives_within_the_deadline
{
    [Fact]
    public async Task Late_keepalives_inside_the_deadline_keep_the_link()
    {
        // Keepalive every 200 ms arriving 300 ms late: 500 ms gaps against a 5 s deadline.
        await using var run = await Emulated.StartAsync("dead-after=25", LlrpFaults.Parse(["slow-keepalive=300"]), Emulated.Quiet);

        await Wait.UntilAsync(() => run.Counters.KeepalivesAcknowledged >= 5, run.Sink.Describe);

        Assert.True(run.Counters.Connects == 1, run.Sink.Describe());
        Assert.Equal(0, run.Counters.LinkFailures);
    }

    [Fact]
    public async Task Keepalives_later_than_the_deadline_get_the_link_declared_dead()
    {
        // Keepalive every 200 ms arriving 3 s late against a 600 ms deadline.
        await using var run = await Emulated.StartAsync("dead-after=3", LlrpFaults.Parse(["slow-keepalive=3000"]), Emulated.Quiet);

        await Wait.UntilAsync(() => run.Sink.Count(ReaderEventKind.Disconnected) >= 1, run.Sink.Describe);

        Assert.Contains("declared dead", run.Sink.Events.First(e => e.Kind == ReaderEventKind.Disconnected).Message, StringComparison.Ordinal);
    }
}
