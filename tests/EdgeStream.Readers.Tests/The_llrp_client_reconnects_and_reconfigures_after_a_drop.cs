using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>The reader resets the TCP connection every few reports; the client reconnects and configures again each time.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_reconnects_and_reconfigures_after_a_drop
{
    [Fact]
    public async Task Dropped_connection_is_reported_and_reestablished_with_configuration()
    {
        await using var run = await Emulated.StartAsync("antennas=1", LlrpFaults.Parse(["drop-after=3"]));

        await Wait.UntilAsync(() => run.Counters.Connects >= 3 && run.Sink.Count(ReaderEventKind.Disconnected) >= 2, run.Sink.Describe);

        // Each connection went through the whole sequence again: a fresh ROSpec with the configured antenna, started.
        Assert.True(run.Emulator.Connections >= 3, run.Sink.Describe());
        Assert.True(run.Emulator.StartRequests >= 3, run.Sink.Describe());
        Assert.Equal([(ushort)1], run.Emulator.LastROSpec!.AntennaIds);
        Assert.True(run.Sink.ReadCount > 0); // A reset discards what the client had not read yet.
        Assert.All(run.Sink.Reads, r => Assert.Equal(1, r.Antenna));
    }
}
