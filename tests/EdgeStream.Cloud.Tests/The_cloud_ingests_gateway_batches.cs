using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The cloud process takes a gateway's batches and status over its embedded broker and shows the
/// assets' zones and the gateway at its HTTP API; garbage is refused and counted, not fatal.
/// </summary>
[Trait("Capability", "Foundation")]
public sealed class The_cloud_ingests_gateway_batches
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Presence_events_set_zones_and_garbage_is_counted_not_fatal()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-test"]);
        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-test");

        var pump = Epc.ParseHex("300833B2DDD9014000000001");
        var now = EventTimes.NowUs();
        var arrive = new Batch
        {
            GatewayId = "gw-test",
            Sequence = 1,
            Class = DataClass.Presence,
            CreatedUs = now,
            Events = [new PresenceEvent { Epc = pump, Kind = PresenceKind.Arrive, Zone = "waiting-room", EventTimeUs = now - 2_000_000, ReadCount = 5, PeakRssiCentiDbm = -4500, MeanRssiCentiDbm = -5000 }],
        };
        var move = arrive with
        {
            Sequence = 2,
            Events = [new PresenceEvent { Epc = pump, Kind = PresenceKind.Move, Zone = "recovery", FromZone = "waiting-room", EventTimeUs = now - 1_000_000, ReadCount = 7, PeakRssiCentiDbm = -4000, MeanRssiCentiDbm = -4300 }],
        };

        // Garbage first: it must not stop what follows.
        await Publish(client, Topics.For("gw-test", TopicKind.Events), "not a batch"u8.ToArray());
        await Publish(client, Topics.For("gw-test", TopicKind.Status), GatewayStatusJson("gw-test", online: true));
        await Publish(client, Topics.For("gw-test", TopicKind.Events), BatchCodec.Encode(move));
        await Publish(client, Topics.For("gw-test", TopicKind.Events), BatchCodec.Encode(arrive)); // older, arrives late

        var asset = (await Eventually.GetAsync(async () =>
        {
            var assets = await cloud.GetArrayAsync("/api/assets");
            return assets.Where(a => a.GetProperty("epc").GetString() == pump.ToString()
                && a.GetProperty("zone").GetString() == "recovery").Select(a => (object)a).FirstOrDefault();
        }, Wait, "the pump in recovery at /api/assets") as JsonElement?)!.Value;

        Assert.Equal("recovery", asset.GetProperty("zone").GetString());
        Assert.Equal("gw-test", asset.GetProperty("gatewayId").GetString());
        var lastSeen = asset.GetProperty("lastSeen").GetDateTimeOffset();
        Assert.Equal(TimeSpan.Zero, lastSeen.Offset);
        Assert.EndsWith("Z", asset.GetProperty("lastSeen").GetString(), StringComparison.Ordinal);
        Assert.Equal(EventTimes.FromUnixMicroseconds(now - 1_000_000), lastSeen);

        var gateways = await cloud.GetArrayAsync("/api/gateways");
        var gw = Assert.Single(gateways);
        Assert.Equal("gw-test", gw.GetProperty("gatewayId").GetString());
        Assert.True(gw.GetProperty("online").GetBoolean());
        Assert.NotEqual(JsonValueKind.Null, gw.GetProperty("lastSeen").ValueKind);

        var metrics = await cloud.Http.GetStringAsync("/metrics");
        Assert.Contains("edgestream_cloud_deadletter_total{reason=\"bad_magic\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("edgestream_cloud_reads_ingested_total 2", metrics, StringComparison.Ordinal);
        Assert.Equal("ok\n", await cloud.Http.GetStringAsync("/healthz"));
        var dead = await cloud.GetArrayAsync("/api/deadletters?gateway=gw-test");
        Assert.Equal("bad_magic", Assert.Single(dead).GetProperty("reason").GetString());

        // The will message (or a clean offline status) marks the gateway offline.
        await Publish(client, Topics.For("gw-test", TopicKind.Status), GatewayStatusJson("gw-test", online: false));
        await Eventually.TrueAsync(async () =>
            !(await cloud.GetArrayAsync("/api/gateways")).Single().GetProperty("online").GetBoolean(), Wait, "gateway offline");
    }

    [Fact]
    public async Task Portal_page_is_served_and_the_live_stream_sends_a_snapshot()
    {
        await using var cloud = await CloudProcess.StartAsync([]);

        var page = await cloud.Http.GetStringAsync("/");
        Assert.Contains("<title>EdgeStream portal</title>", page, StringComparison.Ordinal);
        Assert.Contains("EventSource", await cloud.Http.GetStringAsync("/portal/app.js"), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/assets/stream");
        using var response = await cloud.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("event: gateways", await reader.ReadLineAsync());
    }

    private static byte[] GatewayStatusJson(string id, bool online) =>
        new GatewayStatus { GatewayId = id, Online = online, TimeUs = EventTimes.NowUs(), BufferReads = 3 }.ToJson();

    private static Task Publish(IMqttClient client, string topic, byte[] payload) =>
        client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
}
