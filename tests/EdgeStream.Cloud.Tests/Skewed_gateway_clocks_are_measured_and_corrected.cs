using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// Two gateways with wrong clocks beside one with a right one: ingest measures each clock, shows it on
/// <c>/api/gateways</c> and <c>/metrics</c>, and corrects the event times it writes to the log, so that an
/// asset a skewed gateway sees is placed where and when it really was, and a gateway days ahead never
/// overwrites what a right one saw after it.
/// </summary>
[Trait("Capability", "Tracking")]
public sealed class Skewed_gateway_clocks_are_measured_and_corrected
{
    private const long Hour = 3_600_000_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc Pump = Epc.ParseHex("300833B2DDD9014000000201");
    private static readonly Epc Cart = Epc.ParseHex("300833B2DDD9014000000202");
    private static readonly Epc Filler = Epc.ParseHex("300833B2DDD9014000000203");

    [Fact]
    public async Task A_gateway_an_hour_behind_and_one_two_days_ahead_are_placed_by_the_cloud_clock()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-right", "gw-behind", "gw-ahead"]);
        var right = await Gateway.ConnectAsync(cloud, "gw-right", 0);
        var behind = await Gateway.ConnectAsync(cloud, "gw-behind", -Hour);
        var ahead = await Gateway.ConnectAsync(cloud, "gw-ahead", 48 * Hour);
        try
        {
            // Each skewed gateway announces itself and sends a few ordinary batches: that is the measurement.
            foreach (var g in new[] { behind, ahead })
            {
                await g.StatusAsync();
                for (var i = 0; i < 3; i++)
                {
                    await g.PublishAsync(Arrive(Filler, g.Id + "-corridor", g.NowUs() - 200_000));
                }
            }

            var gateways = (await Eventually.GetAsync(
                async () =>
                {
                    var list = await cloud.Http.GetFromJsonAsync<JsonElement[]>("/api/gateways");
                    var byId = list!.ToDictionary(g => g.GetProperty("gatewayId").GetString()!);
                    return byId.TryGetValue("gw-behind", out var b) && b.GetProperty("clockCorrectionMs").GetInt64() != 0
                        && byId.TryGetValue("gw-ahead", out var a) && a.GetProperty("clockCorrectionMs").GetInt64() != 0 ? byId : null;
                },
                Wait,
                "both skewed gateways measured and corrected"))!;
            Assert.InRange(gateways["gw-behind"].GetProperty("clockSkewMs").GetInt64(), (-Hour / 1000) - 5_000, (-Hour / 1000) + 5_000);
            Assert.InRange(gateways["gw-ahead"].GetProperty("clockSkewMs").GetInt64(), (48 * Hour / 1000) - 5_000, (48 * Hour / 1000) + 5_000);

            // The pump is in the ward (right clock), then wheeled into exam 1, seen by the gateway an hour
            // behind: uncorrected, that event would be an hour older than the ward and only go to history.
            await right.PublishAsync(Arrive(Pump, "ward", right.NowUs()));
            await WaitForZoneAsync(cloud, Pump, "ward");
            var exam = EventTimes.NowUs();
            await behind.PublishAsync(Arrive(Pump, "exam-1", behind.NowUs()));
            var pump = await WaitForZoneAsync(cloud, Pump, "exam-1");
            Assert.InRange(pump.GetProperty("since").GetDateTimeOffset(), EventTimes.FromUnixMicroseconds(exam - 5_000_000), EventTimes.FromUnixMicroseconds(exam + 5_000_000));

            // The cart is at the dock (gateway two days ahead), then moved to the ward (right clock): the
            // dock event, stamped two days in the future, must not stay the newest.
            await ahead.PublishAsync(Arrive(Cart, "dock", ahead.NowUs()));
            var dock = await WaitForZoneAsync(cloud, Cart, "dock");
            Assert.True(dock.GetProperty("since").GetDateTimeOffset() <= DateTimeOffset.UtcNow, "the dock event was placed in the future");
            await right.PublishAsync(Arrive(Cart, "ward", right.NowUs()));
            await WaitForZoneAsync(cloud, Cart, "ward");
            var history = await cloud.GetArrayAsync("/api/assets/" + Cart + "/history");
            Assert.Equal(["dock", "ward"], history.Select(h => h.GetProperty("zone").GetString()));

            // Nothing a skewed gateway sent was counted late: the correction placed it in time.
            Assert.Empty(await cloud.GetArrayAsync("/api/late"));

            var metrics = await cloud.Http.GetStringAsync("/metrics");
            Assert.Contains("edgestream_cloud_clock_skew_seconds{gateway=\"gw-behind\"} -3", metrics, StringComparison.Ordinal);
            Assert.Contains("edgestream_cloud_clock_correction_seconds{gateway=\"gw-ahead\"} 17", metrics, StringComparison.Ordinal);

            // Corrected, the gateway an hour behind does not lag by an hour at the job.
            var lag = metrics.Split('\n').Single(l => l.StartsWith("edgestream_tracking_gateway_watermark_lag{gateway=\"gw-behind\"}", StringComparison.Ordinal));
            Assert.InRange(double.Parse(lag.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), 0, 120);
            Assert.Contains("edgestream_tracking_job_lag ", metrics, StringComparison.Ordinal);
            Assert.Contains("edgestream_tracking_events ", metrics, StringComparison.Ordinal);
        }
        finally
        {
            right.Dispose();
            behind.Dispose();
            ahead.Dispose();
        }
    }

    private static async Task<JsonElement> WaitForZoneAsync(CloudProcess cloud, Epc epc, string zone) =>
        (JsonElement)(await Eventually.GetAsync(
            async () =>
            {
                var r = await cloud.Http.GetAsync("/api/assets/" + epc);
                return r.IsSuccessStatusCode && await r.Content.ReadFromJsonAsync<JsonElement>() is var a && a.GetProperty("zone").GetString() == zone ? (object)a : null;
            },
            Wait,
            $"{epc} in {zone}"))!;

    private static PresenceEvent Arrive(Epc epc, string zone, long t) =>
        new() { Epc = epc, Kind = PresenceKind.Arrive, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    /// <summary>A gateway whose clock is off by <see cref="SkewUs"/>: every time it writes is its own.</summary>
    private sealed class Gateway(IMqttClient client, string id, long skewUs) : IDisposable
    {
        private ulong _sequence;

        public string Id => id;

        public long SkewUs => skewUs;

        public static async Task<Gateway> ConnectAsync(CloudProcess cloud, string id, long skewUs)
        {
            var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, id);
            return new Gateway(client, id, skewUs);
        }

        public long NowUs() => EventTimes.NowUs() + skewUs;

        public async Task StatusAsync()
        {
            var status = new GatewayStatus { GatewayId = id, Online = true, TimeUs = NowUs() };
            await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.For(id, TopicKind.Status)).WithPayload(status.ToJson())
                .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build());
        }

        public async Task PublishAsync(params PresenceEvent[] events)
        {
            var batch = new Batch { GatewayId = id, Sequence = ++_sequence, Class = DataClass.Presence, CreatedUs = NowUs(), Events = events };
            var r = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.For(id, TopicKind.Events)).WithPayload(BatchCodec.Encode(batch))
                .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.True(r.IsSuccess, r.ReasonString);
        }

        public void Dispose() => client.Dispose();
    }
}
