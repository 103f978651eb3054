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
    }
}
