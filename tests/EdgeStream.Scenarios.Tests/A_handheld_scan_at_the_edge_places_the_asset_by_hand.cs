using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace EdgeStream.Scenarios.Tests;

/// <summary>
/// The edge's handheld and barcode inputs on the same path as the cloud's manual events: a nurse scans a
/// pump in a zone on the gateway's <c>POST /api/scans</c>, and a porter scans a wheelchair at the checkout
/// desk's barcode scanner (a serial line); the edge daemon keeps both in its outbox and sends them with
/// their operator and zone; the cloud places each as a manual placement, history marks it with who
/// scanned, and the manual event list shows it. A scan without a zone stays a sighting.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class A_handheld_scan_at_the_edge_places_the_asset_by_hand : IAsyncLifetime
{
    private const string Pump = "300833B2DDD90140000D0001";
    private const string Chair = "300833B2DDD90140000D0002";
    private const string Trolley = "300833B2DDD90140000D0003";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("edgestream-scan-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_scan_reaches_the_cloud_as_a_placement_by_the_nurse()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-scan"]);
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "pump-7", type = "infusion-pump", tags = new[] { Pump } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "chair-2", type = "wheelchair", tags = new[] { Chair } })).StatusCode);
        await using var desk = await PtyPair.StartAsync();
        await using var edge = ChildProcess.StartDotnet("edgestream-edge.dll",
        [
            "run", "--gateway-id", "gw-scan",
            "--reader", $"serial://{desk.DevicePath}?protocol=lines&id=desk-scanner&operator=porter-bob&zone=checkout-desk",
            "--broker", $"mqtt://gw-scan:{CloudProcess.GatewayPassword}@127.0.0.1:{cloud.MqttPort}",
            "--data-dir", Path.Combine(_dir, "edge"), "--http", "127.0.0.1:0",
        ]);
        var endpoint = (await edge.WaitForLineAsync(@"listening on (http://127\.0\.0\.1:\d+)", Wait)).Groups[1].Value;
        using var http = new HttpClient { BaseAddress = new Uri(endpoint) };

        var scanned = await http.PostAsJsonAsync("/api/scans", new
        {
            @operator = "nurse-4",
            device = "ward-3-handheld",
            zone = "ward-3",
            scans = new object[] { new { code = Pump } },
        });
        Assert.Equal(HttpStatusCode.Accepted, scanned.StatusCode);
        var unplaced = await http.PostAsJsonAsync("/api/scans", new { @operator = "nurse-4", scans = new object[] { new { code = Trolley } } });
        Assert.Equal(HttpStatusCode.Accepted, unplaced.StatusCode);
        await Eventually.TrueAsync(
            async () => (await http.GetStringAsync("/metrics")).Split('\n').Any(l => l.Contains("edgestream_edge_reader_events_total", StringComparison.Ordinal) && l.Contains("desk-scanner", StringComparison.Ordinal) && l.Contains("Connected", StringComparison.Ordinal)),
            Wait,
            "the desk scanner open");
        await desk.WriteAsync(Chair + "\r\n");

        var pump = (JsonElement)(await Eventually.GetAsync(
            async () => await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/pump-7") is var a && a.GetProperty("zone").ValueKind == JsonValueKind.String ? (object)a : null,
            Wait,
            "the pump placed by the scan\nedge output:\n" + edge.Output))!;
        Assert.Equal(("ward-3", "gw-scan"), (pump.GetProperty("zone").GetString(), pump.GetProperty("gatewayId").GetString()));

        var history = await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/assets/pump-7/history") is { Length: 1 } h && h[0].GetProperty("manual").ValueKind == JsonValueKind.Object ? h : null,
            Wait,
            "the placement marked as the nurse's");
        var mark = history![0].GetProperty("manual");
        Assert.Equal(("place", "nurse-4", "scanned at ward-3-handheld"), (mark.GetProperty("type").GetString(), mark.GetProperty("by").GetString(), mark.GetProperty("reason").GetString()));

        var events = await cloud.GetArrayAsync("/api/events?asset=pump-7");
        var entry = Assert.Single(events);
        Assert.Equal(("place", "ward-3", "nurse-4", "in the log"), (entry.GetProperty("type").GetString(), entry.GetProperty("zone").GetString(), entry.GetProperty("by").GetString(), entry.GetProperty("status").GetString()));

        // The desk's barcode scanner: a placement at the checkout desk by the porter it is configured for.
        var chair = await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/assets/chair-2/history") is { Length: 1 } h && h[0].GetProperty("manual").ValueKind == JsonValueKind.Object ? h : null,
            Wait,
            "the wheelchair placed by the desk scanner\nedge output:\n" + edge.Output);
        Assert.Equal(("checkout-desk", "porter-bob"), (chair![0].GetProperty("zone").GetString(), chair[0].GetProperty("manual").GetProperty("by").GetString()));

        // The trolley's scan named no zone: seen, not placed.
        var trolley = (JsonElement)(await Eventually.GetAsync(
            async () => (await cloud.GetArrayAsync("/api/assets")).FirstOrDefault(a => a.GetProperty("epc").GetString() == Trolley) is { ValueKind: JsonValueKind.Object } c ? (object)c : null,
            Wait,
            "the trolley seen"))!;
        Assert.Equal(JsonValueKind.Null, trolley.GetProperty("zone").ValueKind);
    }
}
