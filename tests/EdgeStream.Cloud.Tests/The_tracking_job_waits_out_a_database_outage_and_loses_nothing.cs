using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The cloud on PostgreSQL, and PostgreSQL stops as a crash would while gateways keep sending: ingest
/// goes on (the log is the buffer), the job pauses and retries with backoff, <c>/readyz</c> says the
/// database is why, the API answers with problem details, and when the database is back the job
/// resumes by itself and every event is in the database once.
/// </summary>
[Trait("Capability", "Tracking")]
[Collection(PostgresCollection.Name)]
public sealed class The_tracking_job_waits_out_a_database_outage_and_loses_nothing(PostgresServer server)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Postgres_down_pauses_the_job_readyz_says_why_and_it_resumes_with_every_event()
    {
        var cs = await server.CreateDatabaseAsync();
        await using var cloud = await CloudProcess.StartAsync(["gw-db"], "--database", "postgres", "--Tracking:ConnectionString", cs);
        var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-db");
        using var _ = client;
        ulong seq = 0;
        var t0 = EventTimes.NowUs() - 60_000_000;

        await PublishAsync(client, ++seq, Arrive(Tag(0), "ward", t0));
        await Eventually.GetAsync(async () => (await cloud.Http.GetAsync("/api/assets/" + Tag(0))).IsSuccessStatusCode ? (object)true : null, Wait, "the first tag stored");
        await Eventually.GetAsync(async () => (await cloud.Http.GetAsync("/readyz")).IsSuccessStatusCode ? (object)true : null, Wait, "ready before the outage");

        await server.StopAsync();
        try
        {
            // Gateways keep sending; each batch is acknowledged because the log, not the database, takes it.
            for (var i = 1; i <= 40; i++)
            {
                await PublishAsync(client, ++seq, Arrive(Tag(i), i % 2 == 0 ? "ward" : "exam-1", t0 + (i * 1_000_000)));
            }

            await PublishAsync(client, ++seq, Move(Tag(0), "recovery", "ward", t0 + 50_000_000));

            var why = (JsonElement)(await Eventually.GetAsync(
                async () =>
                {
                    var r = await cloud.Http.GetAsync("/readyz");
                    return r.StatusCode == HttpStatusCode.ServiceUnavailable ? (object)await r.Content.ReadFromJsonAsync<JsonElement>() : null;
                },
                Wait,
                "readyz to report the outage"))!;
            Assert.False(why.GetProperty("ready").GetBoolean());
            Assert.Contains(why.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("database", StringComparison.Ordinal));

            var list = await cloud.Http.GetAsync("/api/assets");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, list.StatusCode);
            Assert.Equal("application/problem+json", list.Content.Headers.ContentType?.MediaType);

            var status = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/status");
            Assert.True(status.GetProperty("logRecords").GetInt64() >= 42, "ingest stopped with the database");
        }
        finally
        {
            await server.StartAsync();
        }

        await Eventually.GetAsync(async () => (await cloud.Http.GetAsync("/readyz")).IsSuccessStatusCode ? (object)true : null, Wait, "ready again after the outage");
        // Ready means the log is read and the database takes writes; the last events of a burst still wait
        // out the idle timeout in the reorder buffer, so wait for them to be placed.
        var assets = (JsonElement[])(await Eventually.GetAsync(
            async () => await cloud.GetArrayAsync("/api/assets?limit=1000") is { Length: 41 } all ? (object)all : null,
            Wait,
            "all 41 tags in the database"))!;
        for (var i = 1; i <= 40; i++)
        {
            var a = assets.Single(x => x.GetProperty("epc").GetString() == Tag(i).ToString());
            Assert.Equal(i % 2 == 0 ? "ward" : "exam-1", a.GetProperty("zone").GetString());
        }

        var history = await cloud.GetArrayAsync("/api/assets/" + Tag(0) + "/history");
        Assert.Equal(["ward", "recovery"], history.Select(h => h.GetProperty("zone").GetString()));
        var metrics = await cloud.Http.GetStringAsync("/metrics");
        var failures = metrics.Split('\n').Single(l => l.StartsWith("edgestream_tracking_db_failures", StringComparison.Ordinal) && !l.StartsWith('#'));
        Assert.True(double.Parse(failures.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture) >= 1, failures);
    }

    private static Epc Tag(int i) => Epc.ParseHex("300833B2DDD90140000" + (0x30000 + i).ToString("X5", System.Globalization.CultureInfo.InvariantCulture));

    private static PresenceEvent Arrive(Epc epc, string zone, long t) =>
        new() { Epc = epc, Kind = PresenceKind.Arrive, Zone = zone, EventTimeUs = t, ReadCount = 3 };

    private static PresenceEvent Move(Epc epc, string zone, string from, long t) =>
        new() { Epc = epc, Kind = PresenceKind.Move, Zone = zone, FromZone = from, EventTimeUs = t, ReadCount = 3 };

    // Sealed just after its newest event, as the edge seals a batch (its clock is right).
    private static Task PublishAsync(IMqttClient client, ulong sequence, params PresenceEvent[] events) =>
        CloudProcess.PublishPresenceAsync(client, "gw-db", sequence, events, events.Max(e => e.EventTimeUs) + 100_000);
}
