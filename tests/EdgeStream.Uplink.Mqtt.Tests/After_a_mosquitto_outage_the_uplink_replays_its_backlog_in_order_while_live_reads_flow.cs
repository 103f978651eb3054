using EdgeStream.Contracts;

namespace EdgeStream.Uplink.Mqtt.Tests;

/// <summary>
/// The broker is unreachable (a TCP proxy in front of a real Mosquitto refuses and drops
/// connections) while reads keep arriving: nothing leaves the outbox without a PUBACK, the uplink
/// keeps retrying with backoff (the circuit opens), and after the link returns every read arrives
/// once; the backlog in sequence order, with batches sealed after the reconnect interleaved with
/// it rather than queued behind it.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class After_a_mosquitto_outage_the_uplink_replays_its_backlog_in_order_while_live_reads_flow
{
    [Fact]
    public async Task Backlog_is_replayed_in_order_with_live_batches_interleaved_and_nothing_lost()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);

        // A tight bandwidth cap stretches the replay so live batches demonstrably overtake the backlog's end.
        await using var edge = new EdgeUnderTest(proxy.Uri, tweak: o => o with { BandwidthBytesPerSecond = 256 * 1024, MaxInflight = 4 });
        await Wait.Until(() => edge.Uplink.IsConnected, "first connection");

        long next = 0;
        await edge.AppendAsync(next, 1000);
        next += 1000;
        await Wait.Until(() => cloud.UniqueReads == 1000, "reads before the outage");
        await Wait.Until(() => edge.Outbox.BufferedBatches == 0, "their PUBACKs back");

        proxy.Cut();
        await Wait.Until(() => !edge.Uplink.IsConnected, "the uplink notices the outage");

        // The outage: reads keep coming and are accepted; none can be acknowledged, so none leave.
        for (var i = 0; i < 40; i++)
        {
            await edge.AppendAsync(next, 1000);
            next += 1000;
            await edge.Outbox.FlushAsync(default);
        }

        await Wait.Until(() => edge.Log.Contains("pausing attempts"), "the circuit breaker opens after repeated failed connects");
        Assert.Equal(40_000, edge.Outbox.BufferedReads);
        Assert.Equal(1000, cloud.UniqueReads);
        var backlogEnd = edge.Outbox.LastSequence;

        proxy.Restore();
        await Wait.Until(() => edge.Uplink.IsConnected, "reconnected");

        // Live data during the replay.
        for (var i = 0; i < 10; i++)
        {
            await edge.AppendAsync(next, 200);
            next += 200;
            await edge.Outbox.FlushAsync(default);
        }

        await Wait.Until(() => cloud.UniqueReads == next, $"all {next} reads at the cloud", seconds: 90, detail: () => $"got {cloud.UniqueReads}");
        await Wait.Until(() => edge.Outbox.BufferedBatches == 0, "the outbox drained");
        Assert.True(edge.Uplink.Reconnects >= 1);

        var arrivals = cloud.Unique.Select(b => b.Sequence).ToList();
        var backlog = arrivals.Where(s => s <= backlogEnd).ToList();
        var live = arrivals.Where(s => s > backlogEnd).ToList();
        Assert.Equal(backlog.Order(), backlog);
        Assert.Equal(live.Order(), live);

        // Live was not starved: the first live batch arrived before the last backlog batch.
        Assert.True(arrivals.IndexOf(live[0]) < arrivals.IndexOf(backlog[^1]), $"live batch {live[0]} arrived only after the whole backlog");

        var ids = cloud.Unique.SelectMany(b => b.Reads).Select(BatchCollector.IdOf).Order().ToList();
        Assert.Equal(Enumerable.Range(0, (int)next).Select(i => (long)i), ids);
    }
}
