using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The stream process is killed with -9 while patients' waiting alerts are pending as timers (a workflow
/// state's alert and a rule's "not followed by" deadline), and again just after they fired. After each
/// restart from the checkpoint, each timer fires once: every patient left waiting has exactly one alert of
/// each with one "opened" step, and the state history holds each state once. A zone-wide rule (more than
/// 15 patients in the waiting room) opened and cleared its alert before the kills; the replays that
/// follow them feed the zone stage its placements again, and the alert is still one, opened and resolved.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Kill_9_with_workflow_timers_pending_fires_each_once
{
    private const string Gateway = "gw-ward";
    private const long Min = 60_000_000;
    private const int Patients = 20;

    [Fact]
    public async Task Each_pending_timer_fires_once_and_each_alert_exists_once_after_kills()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "data");
        var workflows = Path.Combine(dir.Path, "workflows");
        var rules = Path.Combine(dir.Path, "rules");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(workflows);
        Directory.CreateDirectory(rules);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json"), Path.Combine(workflows, "hospital-patient.json"));
        await File.WriteAllTextAsync(
            Path.Combine(rules, "untriaged.json"),
            """{"id": "untriaged", "version": 1, "assets": {"type": "patient"}, "pattern": {"notFollowedBy": {"first": {"enter": {"kind": "waiting-room"}}, "then": {"enter": {"zone": "triage"}}, "within": "30m"}}}""");
        await File.WriteAllTextAsync(
            Path.Combine(rules, "crowded.json"),
            """{"id": "crowded", "version": 1, "assets": {"type": "patient"}, "pattern": {"count": {"zone": "waiting-room", "above": 15}}}""");
        string[] args = ["--workflows", workflows, "--rules", rules, "--EventLog:Embedded:Partitions", "1", "--Engine:CheckpointInterval", "00:00:00.300"];

        var cloud = await CloudProcess.StartInAsync(data, [Gateway], 0, args);
        var port = cloud.MqttPort;
        try
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await cloud.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = "waiting-room", kind = "waiting-room" })).StatusCode);
            var epcs = Enumerable.Range(0, Patients).Select(i => Epc.ParseHex($"30340000000000000000{i:X4}")).ToList();
            for (var i = 0; i < Patients; i++)
            {
                Assert.Equal(System.Net.HttpStatusCode.Created, (await cloud.Http.PostAsJsonAsync("/api/assets", new { id = $"patient-{i}", type = "patient", tags = new[] { epcs[i].ToString() } })).StatusCode);
            }

            // Everyone arrives in the waiting room; the even half goes on to triage (their alert is withdrawn).
            var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - (120 * Min);
            ulong seq = 0;
            using (var client = await CloudProcess.ConnectGatewayAsync(port, Gateway))
            {
                await PublishAsync(client, ++seq, [.. epcs.Select((e, i) => P(e, "waiting-room", t0 + (i * 1_000_000)))]);
                await PublishAsync(client, ++seq, [.. epcs.Where((_, i) => i % 2 == 0).Select((e, i) => P(e, "triage", t0 + (10 * Min) + (i * 1_000_000)))]);
            }

            await Eventually.TrueAsync(async () => (await cloud.GetArrayAsync("/api/assets?state=triage")).Length == Patients / 2, TimeSpan.FromSeconds(30), "half the patients in triage");
            await Eventually.TrueAsync(async () => (await cloud.GetArrayAsync("/api/alerts?rule=rule:crowded&status=resolved")).Length == 1, TimeSpan.FromSeconds(30), "the crowded waiting room opened and cleared");
            var offset = await CheckpointsAsync(cloud);
            await Eventually.TrueAsync(async () => await CheckpointsAsync(cloud) > offset, TimeSpan.FromSeconds(30), "a checkpoint holding the pending timers");

            // Kill -9 with ten 45-minute workflow timers and ten 30-minute rule timers pending.
            await cloud.Process.KillAsync();
            await cloud.DisposeAsync();
            cloud = await CloudProcess.StartInAsync(data, [Gateway], port, args);
            Assert.Empty(await cloud.GetArrayAsync("/api/alerts?status=open"));

            // A later event moves the watermark past the deadlines; kill again as soon as alerts appear,
            // before a checkpoint covers them, so the restart replays the timers that raised them.
            using (var client = await CloudProcess.ConnectGatewayAsync(port, Gateway))
            {
                await PublishAsync(client, ++seq, P(Epc.ParseHex("303400000000000000FFFFFF"), "triage", t0 + (100 * Min)));
            }

            await Eventually.TrueAsync(async () => (await cloud.GetArrayAsync("/api/alerts")).Length > 1, TimeSpan.FromSeconds(30), "the first alerts");
            await cloud.Process.KillAsync();
            await cloud.DisposeAsync();
            cloud = await CloudProcess.StartInAsync(data, [Gateway], port, args);

            await Eventually.TrueAsync(async () => (await cloud.GetArrayAsync("/api/alerts")).Length >= Patients + 1, TimeSpan.FromSeconds(30), "two alerts for each patient left waiting");
            await Eventually.TrueAsync(async () => (await cloud.Http.GetAsync("/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "the job to catch up");
            var all = await cloud.GetArrayAsync("/api/alerts");
            var crowded = Assert.Single(all, a => a.GetProperty("rule").GetString() == "rule:crowded");
            Assert.Equal("zone:waiting-room", crowded.GetProperty("asset").GetString());
            var crowdedSteps = (await cloud.Http.GetFromJsonAsync<JsonElement>($"/api/alerts/{crowded.GetProperty("id").GetInt64()}")).GetProperty("steps");
            Assert.Equal(["opened", "resolved"], crowdedSteps.EnumerateArray().Select(s => s.GetProperty("step").GetString()));
            var alerts = all.Where(a => a.GetProperty("rule").GetString() != "rule:crowded").ToArray();
            var leftWaiting = Enumerable.Range(0, Patients).Where(i => i % 2 == 1).Select(i => $"patient-{i}").Order(StringComparer.Ordinal);
            foreach (var rule in new[] { "workflow:hospital-patient/waiting-too-long", "rule:untriaged" })
            {
                Assert.Equal(leftWaiting, alerts.Where(a => a.GetProperty("rule").GetString() == rule).Select(a => a.GetProperty("asset").GetString()!).Order(StringComparer.Ordinal));
            }

            Assert.Equal(Patients, alerts.Length);
            foreach (var a in alerts)
            {
                var one = await cloud.Http.GetFromJsonAsync<JsonElement>($"/api/alerts/{a.GetProperty("id").GetInt64()}");
                Assert.Equal(["opened"], one.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetString()));
            }

            for (var i = 0; i < Patients; i++)
            {
                var states = (await cloud.GetArrayAsync($"/api/assets/patient-{i}/states")).Select(s => s.GetProperty("state").GetString()).ToList();
                Assert.Equal(i % 2 == 0 ? ["arrived", "waiting", "triage"] : ["arrived", "waiting"], states);
            }
        }
        finally
        {
            await cloud.DisposeAsync();
        }
    }

    private static async Task<long> CheckpointsAsync(CloudProcess cloud)
    {
        var status = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/status");
        return status.GetProperty("tracking").EnumerateArray().Sum(p => p.GetProperty("checkpointsCompleted").GetInt64());
    }

    private static PresenceEvent P(Epc epc, string zone, long t) =>
        new() { Epc = epc, Kind = PresenceKind.Move, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    private static Task PublishAsync(IMqttClient client, ulong sequence, params PresenceEvent[] events) =>
        CloudProcess.PublishPresenceAsync(client, Gateway, sequence, events);
}
