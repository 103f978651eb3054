using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The service started with the shipped equipment exit rule (<c>--rules</c>): a pump at an exit without
/// checkout raises one alert over MQTT, a checkout clears it; rules are added and removed through the API
/// while the service runs, from a stated time, and a bad rule is refused with its line.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Rules_run_in_the_service
{
    private const long Min = 60_000_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc PumpOne = Epc.ParseHex("300833B2DDD90140000B0001");
    private static readonly Epc PumpTwo = Epc.ParseHex("300833B2DDD90140000B0002");

    [Fact]
    public async Task A_pump_at_an_exit_without_checkout_raises_one_alert_that_a_later_checkout_clears()
    {
        using var folder = new TempDirectory();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Examples", "equipment-exit.rule.json"), Path.Combine(folder.Path, "equipment-exit.json"));
        await using var cloud = await CloudProcess.StartAsync(["gw-ward"], "--rules", folder.Path, "--EventLog:Embedded:Partitions", "1");
        await RegisterAsync(cloud);

        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-ward");
        var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - (30 * Min);
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 1, [P(PumpOne, PresenceKind.Arrive, "ward-3", t0), P(PumpTwo, PresenceKind.Arrive, "checkout-desk", t0)]);
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 2, [P(PumpOne, PresenceKind.Move, "main-exit", t0 + Min), P(PumpTwo, PresenceKind.Move, "main-exit", t0 + (2 * Min))]);

        var open = (JsonElement[])(await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/alerts?rule=rule:equipment-exit") is { Length: > 0 } a ? a : null,
            Wait,
            "the exit alert"))!;
        var alert = Assert.Single(open);
        Assert.Equal(("pump-1", "critical", "open", "Infusion pump at an exit without checkout"), (alert.GetProperty("asset").GetString(), alert.GetProperty("severity").GetString(), alert.GetProperty("status").GetString(), alert.GetProperty("message").GetString()));
        Assert.Equal(EventTimes.FromUnixMicroseconds(t0 + Min), alert.GetProperty("raised").GetDateTimeOffset());

        // Checked out by hand after all: the rule's condition clears and it resolves the alert itself.
        var checkout = await cloud.Http.PostAsJsonAsync("/api/events", new { id = "checkout-1", type = "action", asset = "pump-1", action = "checkout", by = "porter-bob" });
        Assert.Equal(HttpStatusCode.Accepted, checkout.StatusCode);
        var id = alert.GetProperty("id").GetInt64();
        var resolved = (JsonElement)(await Eventually.GetAsync(
            async () => await cloud.Http.GetFromJsonAsync<JsonElement>($"/api/alerts/{id}") is var a && a.GetProperty("status").GetString() == "resolved" ? (object)a : null,
            Wait,
            "the exit alert resolved"))!;
        Assert.Equal(
            [("opened", "rule", "Infusion pump at an exit without checkout"), ("resolved", "rule", "condition cleared: authorised: action checkout")],
            resolved.GetProperty("steps").EnumerateArray().Select(s => (s.GetProperty("step").GetString(), s.GetProperty("by").GetString(), s.GetProperty("reason").GetString())));
        Assert.Single(await cloud.GetArrayAsync("/api/alerts"));
    }

    [Fact]
    public async Task Rules_are_added_and_removed_while_the_service_runs_from_a_stated_time_and_a_bad_one_changes_nothing()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-ward"], "--EventLog:Embedded:Partitions", "1");
        await RegisterAsync(cloud);

        // A site's time zone is what calendars default to: one this system does not know is refused.
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await cloud.Http.PutAsJsonAsync("/api/sites/default", new { name = "Main", timeZone = "Mars/Olympus" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PutAsJsonAsync("/api/sites/default", new { name = "Main", timeZone = "Europe/London" })).StatusCode);

        // Refused whole, with the line and field; nothing is stored.
        const string bad = "{\n  \"id\": \"pump-in-ward\",\n  \"version\": 1,\n  \"pattern\": { \"enters\": { \"zone\": \"ward-3\", \"kind\": \"ward\" } }\n}";
        var refused = await cloud.Http.PostAsync("/api/rules?by=admin", new StringContent(bad, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray().Single();
        Assert.Equal((4, "pattern.enters"), (error.GetProperty("line").GetInt32(), error.GetProperty("path").GetString()));
        Assert.Empty(await cloud.GetArrayAsync("/api/rules"));
        Assert.Equal(HttpStatusCode.BadRequest, (await cloud.Http.PostAsync("/api/rules", new StringContent(bad, Encoding.UTF8, "application/json"))).StatusCode);

        // Version 1 from now, version 2 (critical) from a second later: each event runs the version of its time.
        var effective = EventTimes.NowUs() + 1_000_000;
        var v1 = """{"id": "pump-in-ward", "version": 1, "assets": {"type": "infusion-pump"}, "pattern": {"enters": {"zone": "ward-3"}}}""";
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsync($"/api/rules?by=admin&effective={Iso(effective - 500_000)}", new StringContent(v1, Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await cloud.Http.PostAsync("/api/rules?by=admin", new StringContent(v1, Encoding.UTF8, "application/json"))).StatusCode);
        var v2 = v1.Replace("\"version\": 1", "\"version\": 2, \"severity\": \"critical\"", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsync($"/api/rules?by=admin&effective={Iso(effective)}", new StringContent(v2, Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal([2], (await cloud.GetArrayAsync("/api/rules")).Select(r => r.GetProperty("version").GetInt32()));

        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-ward");
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 1, [P(PumpTwo, PresenceKind.Arrive, "ward-3", effective - 200_000)]);
        await Eventually.GetAsync(async () => EventTimes.NowUs() > effective + 200_000 ? (object)true : null, Wait, "past the effective time");
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 2, [P(PumpOne, PresenceKind.Arrive, "ward-3", EventTimes.NowUs())]);
        var alert = (JsonElement[])(await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/alerts?rule=rule:pump-in-ward&status=open") is { Length: 2 } a ? a : null,
            Wait,
            "the ward alerts"))!;
        Assert.Equal([("pump-1", "critical"), ("pump-2", "warning")], alert.Select(a => (a.GetProperty("asset").GetString(), a.GetProperty("severity").GetString())).Order());
        alert = [.. alert.Where(a => a.GetProperty("asset").GetString() == "pump-1")];

        // Removed from a stated time: the open alert clears at the pump's next event, as "rule removed".
        Assert.Equal(HttpStatusCode.BadRequest, (await cloud.Http.DeleteAsync("/api/rules/pump-in-ward")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await cloud.Http.DeleteAsync("/api/rules/no-such-rule?by=admin")).StatusCode);
        var removeAt = EventTimes.NowUs() + 1_000_000;
        var removed = await cloud.Http.DeleteAsync($"/api/rules/pump-in-ward?by=admin&effective={Iso(removeAt)}");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal((3, false), await removed.Content.ReadFromJsonAsync<JsonElement>() is var r ? (r.GetProperty("version").GetInt32(), r.GetProperty("enabled").GetBoolean()) : default);
        Assert.Equal(HttpStatusCode.Conflict, (await cloud.Http.DeleteAsync("/api/rules/pump-in-ward?by=admin")).StatusCode);
        Assert.Empty(await cloud.GetArrayAsync("/api/rules"));
        Assert.Equal([(1, true), (2, true), (3, false)], (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/rules/pump-in-ward")).GetProperty("versions").EnumerateArray().Select(v => (v.GetProperty("version").GetInt32(), v.GetProperty("enabled").GetBoolean())));

        await Eventually.GetAsync(async () => EventTimes.NowUs() > removeAt + 200_000 ? (object)true : null, Wait, "past the removal");
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 3, [P(PumpOne, PresenceKind.Move, "main-exit", EventTimes.NowUs())]);
        var id = alert[0].GetProperty("id").GetInt64();
        var steps = (JsonElement)(await Eventually.GetAsync(
            async () => await cloud.Http.GetFromJsonAsync<JsonElement>($"/api/alerts/{id}") is var a && a.GetProperty("status").GetString() == "resolved" ? (object)a.GetProperty("steps") : null,
            Wait,
            "the ward alert resolved"))!;
        Assert.Equal("condition cleared: rule removed", steps.EnumerateArray().Last().GetProperty("reason").GetString());
        Assert.Equal(2, (await cloud.GetArrayAsync("/api/alerts")).Length);
    }

    private static async Task RegisterAsync(CloudProcess cloud)
    {
        foreach (var (zone, kind) in new[] { ("ward-3", "ward"), ("checkout-desk", "desk"), ("main-exit", "exit") })
        {
            Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = zone, kind })).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "pump-1", type = "infusion-pump", tags = new[] { PumpOne.ToString() } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "pump-2", type = "infusion-pump", tags = new[] { PumpTwo.ToString() } })).StatusCode);
    }

    private static string Iso(long us) => Uri.EscapeDataString(EventTimes.ToIso(us));

    private static PresenceEvent P(Epc epc, PresenceKind kind, string zone, long t) =>
        new() { Epc = epc, Kind = kind, Zone = zone, EventTimeUs = t, ReadCount = 3 };
}
