using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The cloud process as a user meets it: presence events from a gateway over MQTT go through the log and
/// the tracking job into the embedded database, and the API answers from there: the registry (create,
/// change, import, export, delete), where an asset is and was, zones, occupancy, the change feed, and
/// problem details for bad requests.
/// </summary>
[Trait("Capability", "Tracking")]
public sealed class The_tracking_api_serves_registry_locations_and_history
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Epc Pump = Epc.ParseHex("300833B2DDD9014000000101");
    private static readonly Epc Chair = Epc.ParseHex("300833B2DDD9014000000102");

    [Fact]
    public async Task Moves_show_as_locations_and_history_and_the_registry_names_the_assets()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-track"]);
        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-track");
        var t0 = (EventTimes.NowUs() / 1_000_000 * 1_000_000) - 600_000_000; // ten minutes ago, whole seconds

        ulong seq = 0;
        await PublishAsync(client, "gw-track", ++seq, Arrive(Pump, "waiting-room", t0), Arrive(Chair, "waiting-room", t0 + 1_000_000));
        await PublishAsync(client, "gw-track", ++seq, Move(Pump, "triage", "waiting-room", t0 + 120_000_000));
        await PublishAsync(client, "gw-track", ++seq, Move(Pump, "exam-1", "triage", t0 + 300_000_000));

        var pump = (JsonElement)(await Eventually.GetAsync(
            async () => await TryGetAsync(cloud, "/api/assets/" + Pump) is { } a && a.GetProperty("zone").GetString() == "exam-1" ? (object)a : null,
            Wait,
            "the pump in exam-1"))!;
        Assert.False(pump.GetProperty("registered").GetBoolean());
        Assert.Equal(Pump.ToString(), pump.GetProperty("id").GetString());
        Assert.Equal("default", pump.GetProperty("site").GetString());
        Assert.Equal("gw-track", pump.GetProperty("gateway").GetString());
        Assert.Equal(EventTimes.FromUnixMicroseconds(t0 + 300_000_000), pump.GetProperty("since").GetDateTimeOffset());

        // Register it: the asset adopts the history its tag had before anyone named it.
        var created = await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "pump-7", name = "Infusion pump 7", type = "infusion-pump", owner = "ICU", tags = new[] { Pump.ToString() }, attributes = new { serial = "IP-7731" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var history = await cloud.GetArrayAsync("/api/assets/pump-7/history");
        Assert.Equal(["waiting-room", "triage", "exam-1"], history.Select(h => h.GetProperty("zone").GetString()));
        Assert.Equal(JsonValueKind.Null, history[^1].GetProperty("to").ValueKind);

        var at = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/pump-7/at?time=" + Uri.EscapeDataString(EventTimes.ToIso(t0 + 200_000_000)));
        Assert.Equal("triage", at.GetProperty("zone").GetString());
        var before = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/pump-7/at?time=" + Uri.EscapeDataString(EventTimes.ToIso(t0 - 1)));
        Assert.Equal(JsonValueKind.Null, before.GetProperty("zone").ValueKind);

        // Lists: filters and cursors.
        Assert.Equal(["pump-7"], (await cloud.GetArrayAsync("/api/assets?type=infusion-pump")).Select(a => a.GetProperty("id").GetString()));
        Assert.Equal([Chair.ToString()], (await cloud.GetArrayAsync("/api/assets?unregistered=true")).Select(a => a.GetProperty("id").GetString()));
        Assert.Equal([Chair.ToString()], (await cloud.GetArrayAsync("/api/assets?zone=waiting-room")).Select(a => a.GetProperty("id").GetString()));
        var page = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets?limit=1");
        Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal(JsonValueKind.String, page.GetProperty("next").ValueKind);

        var zones = (await cloud.GetArrayAsync("/api/zones")).ToDictionary(z => z.GetProperty("name").GetString()!, z => z.GetProperty("assets").GetInt64());
        Assert.Equal(1, zones["waiting-room"]);
        Assert.Equal(1, zones["exam-1"]);
        Assert.Equal(0, zones["triage"]);
        var inExam = await cloud.GetArrayAsync("/api/zones/exam-1/assets");
        Assert.Equal(["pump-7"], inExam.Select(a => a.GetProperty("id").GetString()));
        var occupancy = await cloud.Http.GetFromJsonAsync<JsonElement>(
            $"/api/zones/waiting-room/occupancy?from={Uri.EscapeDataString(EventTimes.ToIso(t0 - 1_000_000))}&to={Uri.EscapeDataString(EventTimes.ToIso(t0 + 600_000_000))}");
        Assert.Equal([0L, 1L, 2L, 1L], occupancy.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("assets").GetInt64()));

        // The change feed, resumed after the first entry.
        var changes = await ReadChangesAsync(cloud, "/api/changes", 4);
        Assert.Equal(4, changes.Count);
        var resumed = await ReadChangesAsync(cloud, "/api/changes?cursor=" + changes[0].Id, 3);
        Assert.Equal(changes.Skip(1).Select(c => c.Id), resumed.Select(c => c.Id));

        // Change, export, delete.
        var put = await cloud.Http.PutAsJsonAsync("/api/assets/pump-7", new { name = "Infusion pump 7 (ICU)", type = "infusion-pump", tags = new[] { Pump.ToString() } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var csv = await cloud.Http.GetStringAsync("/api/assets/export.csv");
        Assert.Contains("pump-7,Infusion pump 7 (ICU),infusion-pump", csv, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await cloud.Http.DeleteAsync("/api/assets/pump-7")).StatusCode);
        Assert.False((await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/" + Pump)).GetProperty("registered").GetBoolean());
    }

    [Fact]
    public async Task Bad_requests_get_problem_details_and_a_csv_import_names_each_bad_row()
    {
        await using var cloud = await CloudProcess.StartAsync([]);

        await AssertProblemAsync(await cloud.Http.GetAsync("/api/assets/no-such-asset"), HttpStatusCode.NotFound, "no-such-asset");
        await AssertProblemAsync(await cloud.Http.GetAsync("/api/assets/no-such-asset/history"), HttpStatusCode.NotFound, "no-such-asset");
        await AssertProblemAsync(await cloud.Http.GetAsync("/api/assets?limit=0"), HttpStatusCode.BadRequest, "limit");
        await AssertProblemAsync(await cloud.Http.GetAsync("/api/assets?cursor=garbage"), HttpStatusCode.BadRequest, "cursor");
        await AssertProblemAsync(await cloud.Http.GetAsync("/api/zones/nowhere/occupancy"), HttpStatusCode.NotFound, "nowhere");
        await AssertProblemAsync(await cloud.Http.PostAsync("/api/assets", new StringContent("{not json", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "JSON");
        await AssertProblemAsync(await cloud.Http.PostAsJsonAsync("/api/assets", new { id = "x", tags = new[] { "ZZ" } }), HttpStatusCode.UnprocessableEntity, "ZZ");
        await AssertProblemAsync(await cloud.Http.PostAsync("/api/assets/import", new StringContent("id\nx", Encoding.UTF8, "application/json")), HttpStatusCode.UnsupportedMediaType, "text/csv");

        var file = "id,name,type,owner,tags,attr.ward\n" +
            "bed-1,Bed 1,bed,Ward 3,E28011606000020000000001,3\n" +
            "bed-2,\"Bed 2, window\",bed,Ward 3,E28011606000020000000002;E28011606000020000000003,3\n" +
            "bed-3,Bed 3,bed,Ward 3,NOTANEPC,3\n" +
            "bed-4,Bed 4,bed\n" +
            "bed-5,Bed 5,bed,Ward 3,E28011606000020000000001,3\n" +
            ",,,,,\n";
        var import = await cloud.Http.PostAsync("/api/assets/import", new StringContent(file, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.OK, import.StatusCode);
        var result = await import.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, result.GetProperty("accepted").GetInt32());
        var rejected = result.GetProperty("rejected").EnumerateArray().ToDictionary(r => r.GetProperty("line").GetInt32(), r => r.GetProperty("reason").GetString()!);
        Assert.Equal([4, 5, 6, 7], rejected.Keys.Order());
        Assert.Contains("NOTANEPC", rejected[4], StringComparison.Ordinal);
        Assert.Contains("fields", rejected[5], StringComparison.Ordinal);
        Assert.Contains("bed-1", rejected[6], StringComparison.Ordinal);

        var bed2 = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/E28011606000020000000003");
        Assert.Equal("bed-2", bed2.GetProperty("id").GetString());
        Assert.Equal("Bed 2, window", bed2.GetProperty("name").GetString());
        Assert.Equal("3", bed2.GetProperty("attributes").GetProperty("ward").GetString());
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string mentions)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Contains(mentions, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement?> TryGetAsync(CloudProcess cloud, string path)
    {
        var r = await cloud.Http.GetAsync(path);
        return r.IsSuccessStatusCode ? await r.Content.ReadFromJsonAsync<JsonElement>() : null;
    }

    private static async Task<List<(string Id, string Data)>> ReadChangesAsync(CloudProcess cloud, string path, int count)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await cloud.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<(string, string)>();
        string? id = null;
        using var timeout = new CancellationTokenSource(Wait);
        while (events.Count < count && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && id is not null)
            {
                events.Add((id, line[6..]));
            }
        }

        return events;
    }

    private static PresenceEvent Arrive(Epc epc, string zone, long t) =>
        new() { Epc = epc, Kind = PresenceKind.Arrive, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    private static PresenceEvent Move(Epc epc, string zone, string from, long t) =>
        new() { Epc = epc, Kind = PresenceKind.Move, Zone = zone, FromZone = from, EventTimeUs = t, ReadCount = 3 };

    private static Task PublishAsync(IMqttClient client, string gateway, ulong sequence, params PresenceEvent[] events) =>
        CloudProcess.PublishPresenceAsync(client, gateway, sequence, events);
}
