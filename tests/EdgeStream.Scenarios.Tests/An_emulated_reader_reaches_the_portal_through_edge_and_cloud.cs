using System.Text.Json;

namespace EdgeStream.Scenarios.Tests;

/// <summary>
/// The walking skeleton, every tier real and a separate process: an LLRP reader emulator on TCP →
/// the edge daemon (LLRP client, windowing, LiteDB-indexed outbox, MQTT uplink) → the cloud (embedded
/// broker, ingest, event log, asset view) → <c>GET /api/assets</c>. A scripted tag's zone appears.
/// </summary>
[Trait("Capability", "Foundation")]
public sealed class An_emulated_reader_reaches_the_portal_through_edge_and_cloud : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("edgestream-e2e-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Scripted_tags_appear_in_their_zones_at_the_cloud_api()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-e2e"]);
        await using var reader = ChildProcess.StartDotnet("edgestream-emulator.dll",
            ["llrp", "--scenario", Path.Combine(AppContext.BaseDirectory, "Scenarios", "e2e-corridor.json"), "--port", "0", "--loop"]);
        var port = (await reader.WaitForLineAsync(@"^listening llrp 127\.0\.0\.1:(\d+)", Wait)).Groups[1].Value;

        var config = Path.Combine(_dir, "edge.json");
        await File.WriteAllTextAsync(config, """
            {
              "windowing": {
                "ReorderToleranceMs": 300,
                "Arbitration": { "WindowMs": 1000, "MinReads": 3, "MinMeanRssiDbm": -75, "MoveMarginDb": 4, "HoldOffMs": 500 },
                "Zones": [
                  { "Name": "waiting-room", "Kind": "Room", "Antennas": [ { "Reader": "ward-reader", "Antenna": 1 } ] },
                  { "Name": "doctors-office", "Kind": "Room", "Antennas": [ { "Reader": "ward-reader", "Antenna": 2 } ] },
                  { "Name": "recovery", "Kind": "Room", "Antennas": [ { "Reader": "ward-reader", "Antenna": 3 } ] }
                ]
              }
            }
            """);
        await using var edge = ChildProcess.StartDotnet("edgestream-edge.dll",
        [
            "run", "--config", config, "--gateway-id", "gw-e2e",
            "--reader", $"llrp://127.0.0.1:{port}?id=ward-reader",
            "--broker", $"mqtt://gw-e2e:{CloudProcess.GatewayPassword}@127.0.0.1:{cloud.MqttPort}",
            "--data-dir", Path.Combine(_dir, "edge"), "--http", "127.0.0.1:0",
        ]);

        var assets = await Eventually.GetAsync(async () =>
        {
            var all = await cloud.GetArrayAsync("/api/assets");
            var zones = all.ToDictionary(a => a.GetProperty("epc").GetString()!, a => a.GetProperty("zone").GetString());
            return zones.GetValueOrDefault("E2801190200005E2E0000001") == "doctors-office"
                && zones.GetValueOrDefault("E2801190200005E2E0000002") == "recovery" ? all : null;
        }, Wait, "both scripted tags in their zones at /api/assets\nedge output:\n" + edge.Output);

        var walker = assets.Single(a => a.GetProperty("epc").GetString() == "E2801190200005E2E0000001");
        Assert.Equal("gw-e2e", walker.GetProperty("gatewayId").GetString());
        Assert.EndsWith("Z", walker.GetProperty("lastSeen").GetString(), StringComparison.Ordinal);

        var gateway = Assert.Single(await cloud.GetArrayAsync("/api/gateways"));
        Assert.Equal("gw-e2e", gateway.GetProperty("gatewayId").GetString());
        Assert.True(gateway.GetProperty("online").GetBoolean());
        Assert.True(gateway.GetProperty("events").GetInt64() >= 2, gateway.ToString());

        // Both classes flow: presence events decided the zones, read summaries went up beside them.
        await Eventually.TrueAsync(async () =>
            (await cloud.GetArrayAsync("/api/gateways")).Single().GetProperty("reads").GetInt64() > 0, Wait, "read summaries at the cloud");

        // Nothing was refused anywhere on the way.
        var metrics = await cloud.Http.GetStringAsync("/metrics");
        Assert.DoesNotContain("edgestream_cloud_deadletter_total{", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("edgestream_cloud_broker_refusals_total{", metrics, StringComparison.Ordinal);

        // A clean stop drains windowing, commits and says offline: exit code 0, gateway offline.
        Assert.Equal(0, await edge.StopAsync(TimeSpan.FromSeconds(60)));
        await Eventually.TrueAsync(async () =>
            !(await cloud.GetArrayAsync("/api/gateways")).Single().GetProperty("online").GetBoolean(), Wait, "gateway offline after the edge stopped");
    }
}
