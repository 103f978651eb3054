using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The zone stage in the service a user starts: a room over its capacity and too many wheelchairs in a
/// corridor each open one alert whose asset is the zone, and clear when the zone empties; a clinician's
/// badge entering the patient's room moves the patient's workflow to the exam (<c>peerEnters</c>).
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Zone_rules_and_peers_run_in_the_service
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc Ann = Epc.ParseHex("300833B2DDD90140000C0001");
    private static readonly Epc Ben = Epc.ParseHex("300833B2DDD90140000C0002");
    private static readonly Epc Chair1 = Epc.ParseHex("300833B2DDD90140000C0101");
    private static readonly Epc Chair2 = Epc.ParseHex("300833B2DDD90140000C0102");
    private static readonly Epc Badge = Epc.ParseHex("300833B2DDD90140000C0201");

    [Fact]
    public async Task A_room_over_capacity_and_a_count_above_its_limit_each_open_one_alert_for_the_zone_that_clears_by_itself()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-ward"], "--EventLog:Embedded:Partitions", "2");
        Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = "triage", kind = "room", capacity = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = "corridor", kind = "corridor" })).StatusCode);
        await RegisterAsync(cloud, ("patient-ann", "patient", Ann), ("patient-ben", "patient", Ben), ("chair-1", "wheelchair", Chair1), ("chair-2", "wheelchair", Chair2));
        await PostRuleAsync(cloud, """{"id": "room-full", "version": 1, "severity": "critical", "pattern": {"occupancy": {"kind": "room"}}}""");
        await PostRuleAsync(cloud, """{"id": "chairs-in-corridor", "version": 1, "assets": {"type": "wheelchair"}, "pattern": {"count": {"zone": "corridor", "above": 1}}}""");

        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-ward");
        var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - 60_000_000;
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 1, [P(Ann, PresenceKind.Arrive, "triage", t0), P(Chair1, PresenceKind.Arrive, "corridor", t0)]);
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 2, [P(Ben, PresenceKind.Arrive, "triage", t0 + 1_000_000), P(Chair2, PresenceKind.Arrive, "corridor", t0 + 2_000_000)]);

        var open = (JsonElement[])(await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/alerts?status=open") is { Length: 2 } a ? a : null,
            Wait,
            "the two zone alerts"))!;
        Assert.Equal(
            [
                ("rule:chairs-in-corridor", "zone:corridor", "warning", "2 of type wheelchair in corridor, above 1"),
                ("rule:room-full", "zone:triage", "critical", "2 assets in triage, above its capacity of 1"),
            ],
            open.Select(a => (a.GetProperty("rule").GetString(), a.GetProperty("asset").GetString(), a.GetProperty("severity").GetString(), a.GetProperty("message").GetString())).Order());
        var full = open.Single(a => a.GetProperty("asset").GetString() == "zone:triage");
        Assert.Equal(EventTimes.FromUnixMicroseconds(t0 + 1_000_000), full.GetProperty("raised").GetDateTimeOffset());

        // Ben goes to the corridor: triage is within its capacity again, and a patient is not a wheelchair.
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 3, [P(Ben, PresenceKind.Move, "corridor", t0 + 3_000_000)]);
        var id = full.GetProperty("id").GetInt64();
        var steps = (JsonElement)(await Eventually.GetAsync(
            async () => await cloud.Http.GetFromJsonAsync<JsonElement>($"/api/alerts/{id}") is var a && a.GetProperty("status").GetString() == "resolved" ? (object)a.GetProperty("steps") : null,
            Wait,
            "the triage alert resolved"))!;
        Assert.Equal(
            [("opened", "rule"), ("resolved", "rule")],
            steps.EnumerateArray().Select(s => (s.GetProperty("step").GetString(), s.GetProperty("by").GetString())));
        Assert.Equal("condition cleared: 1 in triage, within the limit again", steps.EnumerateArray().Last().GetProperty("reason").GetString());
        Assert.Equal(["zone:corridor"], (await cloud.GetArrayAsync("/api/alerts?status=open")).Select(a => a.GetProperty("asset").GetString()));
    }

    [Fact]
    public async Task A_clinicians_badge_entering_the_patients_room_starts_the_exam()
    {
        using var folder = new TempDirectory();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json"), Path.Combine(folder.Path, "hospital-patient.json"));
        await using var cloud = await CloudProcess.StartAsync(["gw-ward"], "--workflows", folder.Path, "--EventLog:Embedded:Partitions", "2");
        Assert.Equal(HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = "triage", kind = "room" })).StatusCode);
        await RegisterAsync(cloud, ("patient-ann", "patient", Ann), ("patient-ben", "patient", Ben), ("dr-lee", "clinician", Badge));

        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-ward");
        var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - 60_000_000;
        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 1, [P(Ann, PresenceKind.Arrive, "triage", t0), P(Ben, PresenceKind.Arrive, "corridor", t0)]);
        await Eventually.TrueAsync(async () => (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ann")).GetProperty("state").GetString() == "triage", Wait, "Ann in triage");

        await CloudProcess.PublishPresenceAsync(client, "gw-ward", 2, [P(Badge, PresenceKind.Arrive, "triage", t0 + 5_000_000)]);
        var ann = (JsonElement)(await Eventually.GetAsync(
            async () => await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ann") is var a && a.GetProperty("state").GetString() == "exam" ? (object)a : null,
            Wait,
            "Ann's exam started"))!;
        Assert.Equal(EventTimes.FromUnixMicroseconds(t0 + 5_000_000), ann.GetProperty("stateSince").GetDateTimeOffset());
        var states = await cloud.GetArrayAsync("/api/assets/patient-ann/states");
        Assert.Equal("clinician entered triage", states.Single(s => s.GetProperty("state").GetString() == "exam").GetProperty("cause").GetString());

        // Ben was in another room; his visit does not move, and Ann's room is still where the reads put her.
        Assert.Equal("arrived", (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ben")).GetProperty("state").GetString());
        Assert.Equal("triage", (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/patient-ann")).GetProperty("zone").GetString());
    }

    private static async Task RegisterAsync(CloudProcess cloud, params (string Id, string Type, Epc Tag)[] assets)
    {
        foreach (var (id, type, tag) in assets)
        {
            Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id, type, tags = new[] { tag.ToString() } })).StatusCode);
        }
    }

    private static async Task PostRuleAsync(CloudProcess cloud, string body)
    {
        var effective = Uri.EscapeDataString(EventTimes.ToIso(EventTimes.NowUs() + 200_000));
        Assert.Equal(HttpStatusCode.Created, (await cloud.Http.PostAsync($"/api/rules?by=admin&effective={effective}", new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode);
    }

    private static PresenceEvent P(Epc epc, PresenceKind kind, string zone, long t) =>
        new() { Epc = epc, Kind = kind, Zone = zone, EventTimeUs = t, ReadCount = 3 };
}
