using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Contracts;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// Accepted means kept: an override accepted by a process that runs only the API (it has no log, so
/// the event waits in the database) survives that process's kill -9, and the relay of the next process
/// with the log appends it, so the job places it once. Separate processes share PostgreSQL.
/// </summary>
[Trait("Capability", "Rules")]
[Collection(PostgresCollection.Name)]
public sealed class An_event_accepted_by_an_api_process_killed_at_once_is_placed_once(PostgresServer server)
{
    [Fact]
    public async Task The_override_waits_in_the_database_and_is_placed_when_a_process_with_the_log_starts()
    {
        using var dir = new TempDirectory();
        var epc = Epc.ParseHex("300833B2DDD90140000C0001");
        var cs = await server.CreateDatabaseAsync();
        var api = await CloudProcess.StartInAsync(dir.Path, [], 0, "--role", "api", "--database", "postgres", "--Tracking:ConnectionString", cs);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await api.Http.PostAsJsonAsync("/api/zones", new { siteId = "default", name = "recovery", kind = "room" })).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await api.Http.PostAsJsonAsync("/api/assets", new { id = "pump-1", type = "pump", tags = new[] { epc.ToString() } })).StatusCode);
            var accepted = await api.Http.PostAsJsonAsync("/api/assets/pump-1/override", new { id = "ov-9", zone = "recovery", by = "porter-2", reason = "no reader in the store room" });
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            Assert.Equal("accepted", (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }
        finally
        {
            await api.Process.KillAsync();
            await api.DisposeAsync();
        }

        await using var cloud = await CloudProcess.StartInAsync(dir.Path, [], 0, "--database", "postgres", "--Tracking:ConnectionString", cs);
        await Eventually.TrueAsync(
            async () => (await cloud.Http.GetFromJsonAsync<JsonElement>("/api/assets/pump-1")).GetProperty("zone") is { ValueKind: JsonValueKind.String } z && z.GetString() == "recovery",
            TimeSpan.FromSeconds(30),
            "the pump placed by the override");
        var kept = Assert.Single(await cloud.GetArrayAsync("/api/events"));
        Assert.Equal(("ov-9", "in the log"), (kept.GetProperty("id").GetString(), kept.GetProperty("status").GetString()));
        var interval = Assert.Single(await cloud.GetArrayAsync("/api/assets/pump-1/history"));
        Assert.Equal("porter-2", interval.GetProperty("manual").GetProperty("by").GetString());
    }
}
