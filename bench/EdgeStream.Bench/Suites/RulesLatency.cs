using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
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

namespace EdgeStream.Bench.Suites;

/// <summary>
/// <c>rules.alert_latency_*</c>: from a processing-time deadline passing to the alert being stored and its
/// webhook received, with the product as a user starts it (the cloud with <c>--rules</c> and a webhook).
/// 220 pumps leave their bay one after another, 20 ms apart (the first 20 warm up and are not counted); the rule "away from the bay for 2 s" fires for
/// each at its own deadline (the leave's time + 2 s). A receiver in this process notes when each pump's
/// <c>alert.opened</c> arrives.
/// </summary>
internal static class RulesLatency
{
    private const string Password = "bench-secret";
    private const string Secret = "bench-webhook-secret-0123";
    private const int Pumps = 220;
    private const int WarmUp = 20;

    public static async Task<IReadOnlyList<Figure>> RunAsync(CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("edgestream-bench-rules-").FullName;
        var received = new ConcurrentDictionary<string, long>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpContext context) =>
        {
            var now = EventTimes.NowUs();
            using var json = await JsonDocument.ParseAsync(context.Request.Body);
            if (json.RootElement.GetProperty("type").GetString() == "alert.opened")
            {
                received.TryAdd(json.RootElement.GetProperty("alert").GetProperty("asset").GetString()!, now);
            }

            return Results.Ok();
        });
        await receiver.StartAsync(ct);
        var hook = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";

        var rules = Path.Combine(dir, "rules");
        Directory.CreateDirectory(rules);
        await File.WriteAllTextAsync(Path.Combine(rules, "bay.json"), """{"id": "pump-away", "version": 1, "clock": "processing", "assets": {"type": "pump"}, "pattern": {"absent": {"zone": "bay", "for": "2s"}}}""", ct);
        var credentials = Path.Combine(dir, "gateways.json");
        await File.WriteAllTextAsync(credentials, JsonSerializer.Serialize(new { gateways = new[] { new { gatewayId = "gw-bay", passwordHash = EdgeStream.Gateways.GatewayPasswords.Hash(Password, 1000) } } }), ct);
        var data = Path.Combine(dir, "cloud");
        Directory.CreateDirectory(data);
        using var cloud = BenchProcesses.Start(
            "edgestream-cloud.dll",
            [
                "--urls", "http://127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--data-dir", data, "--gateways", credentials, "--rules", rules,
                "--Notifications:Webhooks:0:Name", "bench", "--Notifications:Webhooks:0:Url", hook, "--Notifications:Webhooks:0:Secret", Secret,
            ],
            out var output);
        try
        {
            var (portal, mqttPort) = BenchProcesses.CloudEndpoints(await BenchProcesses.WaitForAsync(output, "cloud: ready", ct));
            using var http = new HttpClient { BaseAddress = portal };
            (await http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = "bay", kind = "bay" }, ct)).EnsureSuccessStatusCode();
            for (var i = 0; i < Pumps; i++)
            {
                (await http.PostAsJsonAsync("/api/assets", new { id = $"pump-{i}", type = "pump", tags = new[] { Tag(i).ToString() } }, ct)).EnsureSuccessStatusCode();
            }

            using var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mqttPort).WithClientId("gw-bay").WithCredentials("gw-bay", Password).Build(), ct);
            ulong seq = 0;
            var arrived = EventTimes.NowUs();
            await PublishAsync(client, ++seq, [.. Enumerable.Range(0, Pumps).Select(i => Presence(i, PresenceKind.Arrive, "bay", arrived))], ct);

            // Each pump leaves 20 ms after the one before; its deadline is its leave's event time + 2 s.
            var deadlines = new Dictionary<string, long>();
            var pace = Stopwatch.StartNew();
            for (var i = 0; i < Pumps; i++)
            {
                while (pace.Elapsed < TimeSpan.FromMilliseconds(20 * i))
                {
                    await Task.Delay(1, ct);
                }

                var left = EventTimes.NowUs();
                deadlines[$"pump-{i}"] = left + 2_000_000;
                await PublishAsync(client, ++seq, [Presence(i, PresenceKind.Move, "corridor", left)], ct);
            }

            var wait = Stopwatch.StartNew();
            while (received.Count < Pumps && wait.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50, ct);
            }

            if (received.Count < Pumps)
            {
                throw new InvalidOperationException($"only {received.Count} of {Pumps} alerts reached the webhook within 60 s");
            }

            // The first pumps warm the path (code compiled on first use, the webhook's connection): not counted.
            var latencies = deadlines.Where(d => int.Parse(d.Key.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture) >= WarmUp).Select(d => (received[d.Key] - d.Value) / 1000.0).Order().ToList();
            Console.Error.WriteLine("# rules latency, slowest (ms): " + string.Join(", ", deadlines.OrderByDescending(d => received[d.Key] - d.Value).Take(8).Select(d => $"{d.Key} {(received[d.Key] - d.Value) / 1000.0:0.0}")));
            if (latencies[0] < 0)
            {
                throw new InvalidOperationException($"an alert arrived {-latencies[0]:0.0} ms before its deadline");
            }

            return
            [
                new Figure("rules.alert_latency_p50_ms", Quantile(latencies, 0.50), "ms"),
                new Figure("rules.alert_latency_p99_ms", Quantile(latencies, 0.99), "ms"),
                new Figure("rules.alert_latency_max_ms", latencies[^1], "ms"),
            ];
        }
        finally
        {
            cloud.Kill(entireProcessTree: true);
            await cloud.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Quantile(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    private static Epc Tag(int i) => TrackingInput.Tag(5_000_000 + i);

    private static PresenceEvent Presence(int i, PresenceKind kind, string zone, long t) =>
        new() { Epc = Tag(i), Kind = kind, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    private static async Task PublishAsync(IMqttClient client, ulong sequence, PresenceEvent[] events, CancellationToken ct)
    {
        var batch = new Batch { GatewayId = "gw-bay", Sequence = sequence, Class = DataClass.Presence, CreatedUs = EventTimes.NowUs(), Events = events };
        await client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(Topics.ForBatch("gw-bay", batch.Class)).WithPayload(BatchCodec.Encode(batch))
                .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            ct);
    }
}
