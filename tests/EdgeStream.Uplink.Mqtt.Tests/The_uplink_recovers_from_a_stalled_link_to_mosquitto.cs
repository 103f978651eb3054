namespace EdgeStream.Uplink.Mqtt.Tests;

/// <summary>
/// The link stalls: the TCP connection stays open but no byte moves (a frozen proxy in front of
/// Mosquitto). The uplink must notice (keep-alive / PUBACK timeout), keep the unacknowledged batches,
/// reconnect once bytes flow again, and deliver everything once after dedupe.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_uplink_recovers_from_a_stalled_link_to_mosquitto
{
    [Fact]
    public async Task A_frozen_link_is_detected_and_nothing_is_lost()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);
        await using var edge = new EdgeUnderTest(proxy.Uri);
        await Wait.Until(() => edge.Uplink.IsConnected, "first connection");

        await edge.AppendAsync(0, 2000);
        await Wait.Until(() => cloud.UniqueReads == 2000, "reads before the stall");

        proxy.Freeze();
        for (var i = 1; i <= 10; i++)
        {
            await edge.AppendAsync(i * 2000, 2000);
        }

        await edge.Outbox.FlushAsync(default);
        await Wait.Until(() => !edge.Uplink.IsConnected, "the stall detected");
        Assert.True(edge.Outbox.BufferedReads > 0, "unacknowledged batches stay in the outbox");

        proxy.Restore();
        await Wait.Until(() => cloud.UniqueReads == 22_000, "everything after the stall", detail: () => $"got {cloud.UniqueReads}");
        await Wait.Until(() => edge.Outbox.BufferedBatches == 0, "the outbox drained");
        Assert.True(edge.Uplink.Reconnects >= 1);
        var ids = cloud.Unique.SelectMany(b => b.Reads).Select(BatchCollector.IdOf).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
