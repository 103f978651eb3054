using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// An event-time absence at a site that goes quiet: the pump leaves the ward and nothing more is read.
/// The gateway's status carries its watermark; ingest turns it into a mark on every partition, and the
/// rule fires at its deadline with no further read. A status without a watermark moves nothing.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Watermark_marks_move_event_time_at_a_quiet_site
{
    private const long Min = 60_000_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc Pump = Epc.ParseHex("300833B2DDD90140000E0001");

    [Fact]
    public async Task The_absence_fires_when_the_gateways_status_says_its_clock_passed_the_deadline()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-quiet"], "--EventLog:Embedded:Partitions", "3");
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "pump-9", type = "infusion-pump", tags = new[] { Pump.ToString() } })).StatusCode);
        var effective = Uri.EscapeDataString(EventTimes.ToIso(EventTimes.NowUs() + 200_000));
        var rule = """{"id": "pump-off-ward", "version": 1, "clock": "event", "assets": {"type": "infusion-pump"}, "pattern": {"absent": {"zone": "ward-3", "for": "10m"}}}""";
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsync($"/api/rules?by=admin&effective={effective}", new StringContent(rule, Encoding.UTF8, "application/json"))).StatusCode);

        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-quiet");
        var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - (30 * Min);
        await CloudProcess.PublishPresenceAsync(client, "gw-quiet", 1, [
            new PresenceEvent { Epc = Pump, Kind = PresenceKind.Arrive, Zone = "ward-3", EventTimeUs = t0, ReadCount = 3 },
            new PresenceEvent { Epc = Pump, Kind = PresenceKind.Depart, Zone = "ward-3", EventTimeUs = t0 + Min, ReadCount = 0 },
        ]);
        await Eventually.TrueAsync(
            async () => (await cloud.GetArrayAsync("/api/assets/pump-9/history")).Length == 1 && (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/pump-9")).GetProperty("zone").ValueKind == JsonValueKind.Null,
            Wait,
            "the pump gone from the ward");

        // A status that cannot say (batches still wait at the gateway) moves nothing.
        await PublishStatusAsync(client, watermarkUs: 0);
        await PublishStatusAsync(client, watermarkUs: t0 + (5 * Min));
        await Eventually.TrueAsync(async () => (await cloud.Http.GetStringAsync("/metrics")).Contains("edgestream_cloud_watermark_marks_total 3", StringComparison.Ordinal), Wait, "three marks for the first watermark");
        Assert.Empty(await cloud.GetArrayAsync("/api/alerts"));

        // Its clock passed the deadline (0:11): the absence fires at the deadline's time, once.
        await PublishStatusAsync(client, watermarkUs: t0 + (12 * Min));
        var alert = (JsonElement[])(await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/alerts?rule=rule:pump-off-ward") is { Length: > 0 } a ? a : null,
            Wait,
            "the absence alert"))!;
        Assert.Equal(("pump-9", EventTimes.FromUnixMicroseconds(t0 + (11 * Min))), (Assert.Single(alert).GetProperty("asset").GetString(), alert[0].GetProperty("raised").GetDateTimeOffset()));
        Assert.Contains("edgestream_cloud_watermark_marks_total 6", await cloud.Http.GetStringAsync("/metrics"), StringComparison.Ordinal);

        // Marks are not reads: the pump was not seen again.
        var pump = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/pump-9");
        Assert.Equal(EventTimes.FromUnixMicroseconds(t0 + Min), pump.GetProperty("lastSeen").GetDateTimeOffset());
    }

    private static async Task PublishStatusAsync(IMqttClient client, long watermarkUs)
    {
        var status = new GatewayStatus { GatewayId = "gw-quiet", Online = true, TimeUs = EventTimes.NowUs(), WatermarkUs = watermarkUs };
        var r = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.For("gw-quiet", TopicKind.Status)).WithPayload(status.ToJson())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(true).Build());
        Assert.True(r.IsSuccess, r.ReasonString);
    }
}
