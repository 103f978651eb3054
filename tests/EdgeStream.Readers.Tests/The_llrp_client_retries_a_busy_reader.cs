using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>A reader busy with another client refuses through ConnectionAttemptEvent: reported, retried, then connected.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_retries_a_busy_reader
{
    [Fact]
    public async Task Busy_refusals_are_reported_then_the_client_gets_in()
    {
        await using var run = await Emulated.StartAsync(faults: LlrpFaults.Parse(["busy=2"]));

        await Wait.UntilAsync(() => run.Counters.Connects >= 1 && run.Sink.ReadCount > 0, run.Sink.Describe);

        var refusals = run.Sink.Events.Where(e => e.Kind == ReaderEventKind.Error).ToList();
        Assert.Equal(2, refusals.Count);
        Assert.All(refusals, e => Assert.Contains("reader busy", e.Message, StringComparison.Ordinal));
        Assert.Equal(2, run.Emulator.RefusedConnections);
    }
}
