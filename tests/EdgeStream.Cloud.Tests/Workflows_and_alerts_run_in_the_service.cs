using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The service started with the shipped hospital flow (<c>--workflows</c>): a patient's visit over MQTT
/// shows as <c>state</c>/<c>stateSince</c> and state history, a patient left waiting raises one alert at the
/// deadline the watermark passes, people acknowledge and resolve it, and definitions are versioned and
/// validated through the API.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Workflows_and_alerts_run_in_the_service
{
    private const long Min = 60_000_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc Ann = Epc.ParseHex("300833B2DDD90140000A0001");
    private static readonly Epc Ben = Epc.ParseHex("300833B2DDD90140000A0002");
    private static readonly Epc Cart = Epc.ParseHex("300833B2DDD90140000A00FF");

    [Fact]
    public async Task A_visit_shows_its_state_and_history_and_a_patient_left_waiting_raises_one_alert_people_handle()
    {
        using var folder = new TempDirectory();
        var example = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json"));
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "hospital-patient.json"), example);
        // One partition: event-time timers fire as their partition's watermark passes, and the cart's
        // later event must reach the patients' partition to move it (docs/rules.md, "What time means").
        await using var cloud = await CloudProcess.StartAsync(["gw-ward"], "--workflows", folder.Path, "--EventLog:Embedded:Partitions", "1");

        foreach (var (zone, kind) in new[] { ("waiting-room", "waiting-room"), ("triage", "room"), ("exam-1", "exam-room"), ("recovery", "room"), ("main-exit", "exit") })
        {
            Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = zone, kind })).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "patient-ann", type = "patient", tags = new[] { Ann.ToString() } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "patient-ben", type = "patient", tags = new[] { Ben.ToString() } })).StatusCode);

        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-ward");
        var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - (90 * Min);
        ulong seq = 0;
        await PublishAsync(client, "gw-ward", ++seq, P(Ann, PresenceKind.Arrive, "waiting-room", t0), P(Ben, PresenceKind.Arrive, "waiting-room", t0 + Min));
        await PublishAsync(client, "gw-ward", ++seq, P(Ann, PresenceKind.Move, "triage", t0 + (10 * Min)));
        await PublishAsync(client, "gw-ward", ++seq, P(Ann, PresenceKind.Move, "exam-1", t0 + (20 * Min)));
        await PublishAsync(client, "gw-ward", ++seq, P(Ann, PresenceKind.Move, "recovery", t0 + (40 * Min)));
        await PublishAsync(client, "gw-ward", ++seq, P(Ann, PresenceKind.Depart, "recovery", t0 + (60 * Min)));

        // A later event of the gateway moves its watermark past both deadlines.
        await PublishAsync(client, "gw-ward", ++seq, P(Cart, PresenceKind.Arrive, "triage", t0 + (85 * Min)));

        var ann = await Eventually.GetAsync(
            async () => await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ann") is var a && a.GetProperty("state").GetString() == "discharged" ? (object)a : null,
            Wait,
            "Ann discharged");
        var item = (JsonElement)ann!;
        Assert.Equal(EventTimes.FromUnixMicroseconds(t0 + (70 * Min)), item.GetProperty("stateSince").GetDateTimeOffset());
        Assert.Equal("hospital-patient", item.GetProperty("workflow").GetString());
        var states = await cloud.GetArrayAsync("/api/assets/patient-ann/states");
        Assert.Equal(["arrived", "waiting", "triage", "exam", "recovery", "discharged"], states.Select(s => s.GetProperty("state").GetString()));
        Assert.Equal(["patient-ann"], (await cloud.GetArrayAsync("/api/assets?state=discharged")).Select(a => a.GetProperty("id").GetString()));

        var alerts = (await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/alerts?status=open") is { Length: > 0 } open ? open : null,
            Wait,
            "Ben's waiting alert"))!;
        var alert = Assert.Single((JsonElement[])alerts);
        Assert.Equal(("workflow:hospital-patient/waiting-too-long", "patient-ben", "warning", 1), (alert.GetProperty("rule").GetString(), alert.GetProperty("asset").GetString(), alert.GetProperty("severity").GetString(), alert.GetProperty("level").GetInt32()));
        Assert.Equal(EventTimes.FromUnixMicroseconds(t0 + (46 * Min)), alert.GetProperty("raised").GetDateTimeOffset());
        Assert.Equal("waiting", (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ben")).GetProperty("state").GetString());
        var id = alert.GetProperty("id").GetInt64();

        Assert.Equal(HttpStatusCode.BadRequest, (await cloud.Http.PostAsJsonAsync($"/api/alerts/{id}/ack", new { reason = "nobody" })).StatusCode);
        var acked = await cloud.Http.PostAsJsonAsync($"/api/alerts/{id}/ack", new { by = "nurse-ann", reason = "on my way" });
        Assert.Equal(HttpStatusCode.OK, acked.StatusCode);
        Assert.Equal("acknowledged", (await acked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync($"/api/alerts/{id}/resolve", new { by = "nurse-ann", reason = "seen by triage" })).StatusCode);
        var again = await cloud.Http.PostAsJsonAsync($"/api/alerts/{id}/ack", new { by = "porter" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var steps = (await cloud.Http.GetFromJsonAsync<JsonElement>($"/api/alerts/{id}")).GetProperty("steps").EnumerateArray().Select(s => (s.GetProperty("step").GetString(), s.GetProperty("by").GetString())).ToList();
        Assert.Equal([("opened", "workflow"), ("acknowledged", "nurse-ann"), ("resolved", "nurse-ann")], steps);
        Assert.Equal(HttpStatusCode.NotFound, (await cloud.Http.GetAsync("/api/alerts/999999")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await cloud.Http.GetAsync("/api/alerts?status=sleeping")).StatusCode);
    }

    [Fact]
    public async Task Definitions_are_versioned_and_a_bad_one_is_refused_with_its_line_and_the_running_set_unchanged()
    {
        using var folder = new TempDirectory();
        var example = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json"));
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "hospital-patient.json"), example);
        await using var cloud = await CloudProcess.StartAsync([], "--workflows", folder.Path);

        var bad = await cloud.Http.PostAsync("/api/workflows?by=admin", new StringContent(example.Replace("\"to\": \"triage\"", "\"to\": \"triaj\"", StringComparison.Ordinal).Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
        var error = problem.GetProperty("errors").EnumerateArray().Single();
        Assert.Contains("triaj", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(27, error.GetProperty("line").GetInt32());

        var same = await cloud.Http.PostAsync("/api/workflows?by=admin", new StringContent(example, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, same.StatusCode);
        Assert.Contains("version", (await same.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await cloud.Http.PostAsync("/api/workflows", new StringContent(example, Encoding.UTF8, "application/json"))).StatusCode);

        var v2 = example.Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal).Replace("\"after\": \"45m\"", "\"after\": \"30m\"", StringComparison.Ordinal);
        var saved = await cloud.Http.PostAsync("/api/workflows?by=admin", new StringContent(v2, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
        var versions = await cloud.GetArrayAsync("/api/workflows");
        Assert.Equal([(1, "file hospital-patient.json"), (2, "admin")], versions.Select(v => (v.GetProperty("version").GetInt32(), v.GetProperty("savedBy").GetString())));
        var latest = (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/workflows/hospital-patient")).GetProperty("latest");
        Assert.Equal("30m", latest.GetProperty("definition").GetProperty("states").GetProperty("waiting").GetProperty("alerts")[0].GetProperty("after").GetString());
    }

    private static PresenceEvent P(Epc epc, PresenceKind kind, string zone, long t) =>
        new() { Epc = epc, Kind = kind, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    private static Task PublishAsync(IMqttClient client, string gateway, ulong sequence, params PresenceEvent[] events) =>
        CloudProcess.PublishPresenceAsync(client, gateway, sequence, events);
}
