using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// Alert steps go out as signed webhooks and on an MQTT topic: a receiver that is down gets every
/// notification once it is back, each with its idempotency key, in order per asset; a receiver that
/// refuses them for good (4xx) gets them dead-lettered with the reason.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Alert_notifications_go_out_as_webhooks_and_on_mqtt
{
    private const string Secret = "a-shared-secret-of-the-ward";
    private const long Min = 60_000_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc PumpOne = Epc.ParseHex("300833B2DDD90140000C0001");
    private static readonly Epc PumpTwo = Epc.ParseHex("300833B2DDD90140000C0002");

    [Fact]
    public async Task A_receiver_that_was_down_gets_every_step_once_in_order_and_one_that_refuses_gets_dead_letters()
    {
        await using var ops = await WebhookReceiver.StartAsync(Secret, HttpStatusCode.ServiceUnavailable);
        await using var strict = await WebhookReceiver.StartAsync(Secret, HttpStatusCode.BadRequest);
        await using var broker = await InProcessBroker.StartAsync();
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        var published = new ConcurrentQueue<(string Topic, string Key)>();
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            published.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.UserProperties.Single(p => p.Name == "idempotency-key").ValueBuffer.Span)));
            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        await subscriber.SubscribeAsync("edgestream/alerts/#", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);

        using var rules = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(rules.Path, "pump-at-exit.json"), """{"id": "pump-at-exit", "version": 1, "severity": "critical", "assets": {"type": "infusion-pump"}, "pattern": {"enters": {"kind": "exit"}}}""");
        await using var cloud = await CloudProcess.StartAsync(
            ["gw-ward"],
            "--rules", rules.Path,
            "--EventLog:Embedded:Partitions", "1",
            "--Notifications:Webhooks:0:Name", "ops", "--Notifications:Webhooks:0:Url", ops.Url, "--Notifications:Webhooks:0:Secret", Secret,
            "--Notifications:Webhooks:1:Name", "strict", "--Notifications:Webhooks:1:Url", strict.Url, "--Notifications:Webhooks:1:Secret", Secret,
            "--Notifications:Mqtt:Broker", broker.Uri.ToString(),
            "--Notifications:MaxRetryDelay", "00:00:00.200");
        Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = "main-exit", kind = "exit" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "pump-1", type = "infusion-pump", tags = new[] { PumpOne.ToString() } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "pump-2", type = "infusion-pump", tags = new[] { PumpTwo.ToString() } })).StatusCode);

        // Two pumps reach the exit and go back: four steps (each alert opened, then resolved by the rule).
        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-ward");
        var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - (10 * Min);
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 1, [P(PumpOne, "main-exit", t0), P(PumpTwo, "main-exit", t0 + 1_000_000)]);
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 2, [P(PumpOne, "ward-3", t0 + Min), P(PumpTwo, "ward-3", t0 + (2 * Min))]);

        // The ops receiver is down: the first notification is tried again and again, and nothing overtakes it.
        await Eventually.TrueAsync(() => Task.FromResult(ops.Requests.Count(r => r.Answer == 503) >= 5), Wait, "retries while ops is down");
        Assert.Single(ops.Requests.Select(r => r.Key).Distinct());
        ops.Answer = HttpStatusCode.OK;
        await Eventually.TrueAsync(() => Task.FromResult(ops.Requests.Count(r => r.Answer == 200) == 4), Wait, "every step delivered to ops");

        var delivered = ops.Requests.Where(r => r.Answer == 200).ToList();
        Assert.All(ops.Requests, r => Assert.True(r.SignatureValid, "a request's signature does not match its body"));
        Assert.All(ops.Requests, r => Assert.Equal(r.Key, r.BodyId));
        Assert.Equal(4, delivered.Select(r => r.Key).Distinct().Count());
        Assert.Equal(ops.Requests.First().Key, delivered[0].Key);
        foreach (var asset in new[] { "pump-1", "pump-2" })
        {
            Assert.Equal(["alert.opened", "alert.resolved"], delivered.Where(r => r.Asset == asset).Select(r => r.Type));
        }

        // The strict receiver refuses every one (400): each is a dead letter after one attempt, and the cursor moves on.
        var dead = (JsonElement[])(await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/notifications/dead-letters?channel=webhook:strict") is { Length: 4 } d ? d : null,
            Wait,
            "four dead letters for the strict receiver"))!;
        Assert.All(dead, d => Assert.Equal(1, d.GetProperty("attempts").GetInt32()));
        Assert.All(dead, d => Assert.Contains("answered 400", d.GetProperty("error").GetString(), StringComparison.Ordinal));
        Assert.Equal(4, strict.Requests.Count);
        Assert.Empty(await cloud.GetArrayAsync("/api/notifications/dead-letters?channel=webhook:ops"));

        // The same four on MQTT, per asset topic, with the same keys.
        await Eventually.TrueAsync(() => Task.FromResult(published.Count == 4), Wait, "four notifications on MQTT");
        Assert.Equal(delivered.Select(r => r.Key).Order(StringComparer.Ordinal), published.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["edgestream/alerts/pump-1", "edgestream/alerts/pump-2"], published.Select(p => p.Topic).Distinct().Order(StringComparer.Ordinal));
    }

    private static PresenceEvent P(Epc epc, string zone, long t) =>
        new() { Epc = epc, Kind = PresenceKind.Move, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    /// <summary>A webhook receiver on a port the system chose: it answers <see cref="Answer"/> and keeps every request, checking its signature.</summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly byte[] _secret;
        private volatile int _answer;

        private WebhookReceiver(WebApplication app, byte[] secret, HttpStatusCode answer)
        {
            _app = app;
            _secret = secret;
            _answer = (int)answer;
        }

        public string Url { get; private set; } = string.Empty;

        public HttpStatusCode Answer
        {
            get => (HttpStatusCode)_answer;
            set => _answer = (int)value;
        }

        public ConcurrentQueue<Request> Requests { get; } = new();

        public static async Task<WebhookReceiver> StartAsync(string secret, HttpStatusCode answer)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var receiver = new WebhookReceiver(app, Encoding.UTF8.GetBytes(secret), answer);
            app.MapPost("/hook", receiver.HandleAsync);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            receiver.Url = address + "/hook";
            return receiver;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();

        private async Task HandleAsync(HttpContext context)
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var timestamp = context.Request.Headers["X-EdgeStream-Timestamp"].ToString();
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes(timestamp + "." + Encoding.UTF8.GetString(body))));
            using var json = JsonDocument.Parse(body);
            var answer = _answer;
            Requests.Enqueue(new Request(
                context.Request.Headers["Idempotency-Key"].ToString(),
                json.RootElement.GetProperty("id").GetString()!,
                json.RootElement.GetProperty("type").GetString()!,
                json.RootElement.GetProperty("alert").GetProperty("asset").GetString()!,
                context.Request.Headers["X-EdgeStream-Signature"].ToString() == expected,
                answer));
            context.Response.StatusCode = answer;
        }
    }

    private sealed record Request(string Key, string BodyId, string Type, string Asset, bool SignatureValid, int Answer);
}
