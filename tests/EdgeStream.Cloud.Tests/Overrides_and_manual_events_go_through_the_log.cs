using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// People's events in the service a user starts: an operator's override places a patient where the
/// reads did not see her and holds against the reads losing her, a doctor's discharge drives her
/// workflow, both are idempotent by their client id, history names who made them, and bad bodies get
/// RFC 7807 answers that name each field.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Overrides_and_manual_events_go_through_the_log
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc Ann = Epc.ParseHex("300833B2DDD90140000B0001");
    private static readonly Epc Cart = Epc.ParseHex("300833B2DDD90140000B00FF");

    [Fact]
    public async Task An_override_and_a_discharge_are_placed_by_the_job_once_each_and_history_names_who()
    {
        using var folder = new TempDirectory();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json"), Path.Combine(folder.Path, "hospital-patient.json"));
        await using var cloud = await CloudProcess.StartAsync(["gw-ward"], "--workflows", folder.Path, "--EventLog:Embedded:Partitions", "1");
        foreach (var (zone, kind) in new[] { ("waiting-room", "waiting-room"), ("recovery", "room"), ("triage", "room") })
        {
            Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = zone, kind })).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "patient-ann", type = "patient", tags = new[] { Ann.ToString() } })).StatusCode);
        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-ward");
        ulong seq = 0;
        await PublishAsync(client, ++seq, P(Ann, PresenceKind.Arrive, "waiting-room", EventTimes.NowUs() - 20_000_000));
        await ZoneIsAsync(cloud, "waiting-room");

        // Bad bodies: nothing is accepted, and every bad field is named.
        var empty = await cloud.Http.PostAsJsonAsync("/api/assets/patient-ann/override", new { });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, empty.StatusCode);
        Assert.Equal("application/problem+json", empty.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["by", "zone"], (await empty.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).Order());
        var notJson = await cloud.Http.PostAsync("/api/assets/patient-ann/override", new StringContent("{zone: recovery", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        var wrong = await cloud.Http.PostAsJsonAsync("/api/events", new { type = "teleport", asset = "patient-ann", by = "x", time = "yesterday", colour = "red" });
        Assert.Equal(["colour", "time", "type"], (await wrong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).Order());
        var old = await cloud.Http.PostAsJsonAsync("/api/events", new { type = "place", asset = "patient-ann", zone = "triage", by = "x", time = DateTimeOffset.UtcNow.AddHours(-2) });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, old.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await cloud.Http.PostAsJsonAsync("/api/assets/nobody/override", new { zone = "recovery", by = "nurse-4" })).StatusCode);
        Assert.Empty(await cloud.GetArrayAsync("/api/events"));

        // The override, sent twice (a retry), and its id reused for another event.
        var body = new { id = "ov-1", zone = "recovery", by = "nurse-4", reason = "the recovery reader is down" };
        var first = await cloud.Http.PostAsJsonAsync("/api/assets/patient-ann/override", body);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var retry = await cloud.Http.PostAsJsonAsync("/api/assets/patient-ann/override", body);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sequence").GetInt64(), (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sequence").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, (await cloud.Http.PostAsJsonAsync("/api/assets/patient-ann/override", body with { zone = "triage" })).StatusCode);
        await ZoneIsAsync(cloud, "recovery");

        // The reads lose her in the waiting room: the override holds.
        await PublishAsync(client, ++seq, P(Ann, PresenceKind.Depart, "waiting-room", EventTimes.NowUs()));
        await PublishAsync(client, ++seq, P(Cart, PresenceKind.Arrive, "triage", EventTimes.NowUs()));
        await Eventually.TrueAsync(async () => (await cloud.Http.GetFromJsonAsync<JsonElement>($"/api/assets/{Cart}")).GetProperty("zone").GetString() == "triage", Wait, "the cart in triage");
        Assert.Equal("recovery", await ZoneAsync(cloud));

        // The doctor discharges her by hand.
        var discharge = await cloud.Http.PostAsJsonAsync("/api/events", new { id = "a-1", type = "action", action = "discharge", asset = "patient-ann", by = "dr-lee" });
        Assert.Equal(HttpStatusCode.Accepted, discharge.StatusCode);
        await Eventually.TrueAsync(async () => (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ann")).GetProperty("state").GetString() == "discharged", Wait, "Ann discharged");
        var states = await cloud.GetArrayAsync("/api/assets/patient-ann/states");
        Assert.Equal("manual discharge by dr-lee", states[^1].GetProperty("cause").GetString());
        Assert.Single(states, s => s.GetProperty("state").GetString() == "discharged");

        var history = await cloud.GetArrayAsync("/api/assets/patient-ann/history");
        Assert.Equal(["waiting-room", "recovery"], history.Select(h => h.GetProperty("zone").GetString()));
        Assert.Equal(JsonValueKind.Null, history[0].GetProperty("manual").ValueKind);
        var mark = history[1].GetProperty("manual");
        Assert.Equal(("override", "nurse-4", "the recovery reader is down"), (mark.GetProperty("type").GetString(), mark.GetProperty("by").GetString(), mark.GetProperty("reason").GetString()));

        var events = await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/events?asset=patient-ann") is { } e && e.All(x => x.GetProperty("status").GetString() == "in the log") ? e : null,
            Wait,
            "both events in the log");
        Assert.Equal(["a-1", "ov-1"], events!.Select(e => e.GetProperty("id").GetString()));
    }

    private static async Task ZoneIsAsync(CloudProcess cloud, string zone) =>
        await Eventually.TrueAsync(async () => await ZoneAsync(cloud) == zone, Wait, $"Ann in {zone}");

    private static async Task<string?> ZoneAsync(CloudProcess cloud) =>
        (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ann")).GetProperty("zone") is { ValueKind: JsonValueKind.String } z ? z.GetString() : null;

    private static PresenceEvent P(Epc epc, PresenceKind kind, string zone, long t) =>
        new() { Epc = epc, Kind = kind, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    private static Task PublishAsync(IMqttClient client, ulong sequence, params PresenceEvent[] events) =>
        CloudProcess.PublishPresenceAsync(client, "gw-ward", sequence, events);
}
