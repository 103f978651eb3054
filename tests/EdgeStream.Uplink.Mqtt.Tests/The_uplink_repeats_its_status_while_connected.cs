using System.Text;
using EdgeStream.Contracts;

namespace EdgeStream.Uplink.Mqtt.Tests;

/// <summary>
/// A connected gateway repeats its retained status every <c>uplink-status-interval</c>, each with its
/// clock at the time it was sent: the cloud's clock-skew estimate counts a status for ten minutes only,
/// and a gateway that stays connected for hours must keep it fresh.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_uplink_repeats_its_status_while_connected
{
    [Fact]
    public async Task A_status_with_a_newer_clock_arrives_every_interval()
    {
        await using var broker = await InProcessBroker.StartAsync();
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);
        await using var edge = new EdgeUnderTest(broker.Uri, tweak: o => o with { StatusInterval = TimeSpan.FromSeconds(1) });

        var clocks = new SortedSet<long>();
        await Wait.Until(
            () =>
            {
                if (cloud.Status.TryGetValue("gw-it-01", out var s) && GatewayStatus.TryParse(Encoding.UTF8.GetBytes(s), out var st) && st!.Online)
                {
                    clocks.Add(st.TimeUs);
                }

                return clocks.Count >= 3;
            },
            "three statuses, each sent at a later gateway time",
            detail: () => $"saw {clocks.Count}");

        // One connection: the statuses after the first are repeats, about a second apart, not reconnects.
        Assert.Equal(0, edge.Uplink.Reconnects);
        Assert.All(clocks.Zip(clocks.Skip(1)), p => Assert.InRange(p.Second - p.First, 500_000, 30_000_000));
        Assert.True(GatewayStatus.TryParse(Encoding.UTF8.GetBytes(cloud.Status["gw-it-01"]), out var last));
        Assert.Equal(0, last!.WatermarkUs); // a gateway that cannot say what it still holds gives no watermark
    }

    [Fact]
    public async Task With_nothing_waiting_for_the_broker_the_status_carries_the_gateways_watermark()
    {
        await using var broker = await InProcessBroker.StartAsync();
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);
        await using var edge = new EdgeUnderTest(broker.Uri, tweak: o => o with { StatusInterval = TimeSpan.FromSeconds(1) }, holdbackUs: 3_000_000);
        await edge.AppendAsync(1, 10);
        await Wait.Until(() => cloud.UniqueReads == 10 && edge.Outbox.BufferedBatches == 0, "the reads delivered");

        GatewayStatus? status = null;
        await Wait.Until(
            () => cloud.Status.TryGetValue("gw-it-01", out var s) && GatewayStatus.TryParse(Encoding.UTF8.GetBytes(s), out status) && status!.WatermarkUs > 0,
            "a status with a watermark");
        Assert.Equal(status!.TimeUs - 3_000_000, status.WatermarkUs);
    }
}
