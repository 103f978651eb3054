using EdgeStream.Contracts;

namespace EdgeStream.Uplink.Mqtt.Tests;

/// <summary>
/// Reads accepted into the outbox reach the in-process MQTTnet broker as QoS 1 batches, each once
/// after the cloud's dedupe, on the gateway's reads topic; the outbox empties only as PUBACKs come
/// back, and the gateway's retained status says online.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_uplink_delivers_every_accepted_read_once
{
    [Fact]
    public async Task Every_accepted_read_arrives_once_and_the_outbox_drains()
    {
        await using var broker = await InProcessBroker.StartAsync();
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);
        await using var edge = new EdgeUnderTest(broker.Uri);

        // Connected first: batches sealed before a connection are backlog and would be interleaved with live ones.
        await Wait.Until(() => edge.Uplink.IsConnected, "connected");

        const int total = 20_000;
        for (var i = 0; i < total; i += 250)
        {
            await edge.AppendAsync(i, 250);
        }

        await edge.Outbox.FlushAsync(default);
        Assert.Equal(total, edge.Outbox.AcceptedReads);

        await Wait.Until(() => cloud.UniqueReads == total, $"{total} reads at the cloud", detail: () => $"got {cloud.UniqueReads}");
        await Wait.Until(() => edge.Outbox.BufferedBatches == 0, "the outbox drained by PUBACKs");

        var batches = cloud.Unique;
        var ids = batches.SelectMany(b => b.Reads).Select(BatchCollector.IdOf).ToList();
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), ids.Order());
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(batches, b => Assert.Equal("gw-it-01", b.GatewayId));

        // Sequences: unique, and in order on a steady link (everything is on the live lane).
        var seqs = batches.Select(b => b.Sequence).ToList();
        Assert.Equal(seqs.Order(), seqs);
        await Wait.Until(() => cloud.Status.TryGetValue("gw-it-01", out var s) && EdgeStream.Contracts.GatewayStatus.TryParse(System.Text.Encoding.UTF8.GetBytes(s), out var st) && st!.Online, "retained status online");
    }
}
