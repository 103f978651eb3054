using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog.Kafka;
using MQTTnet;
using Npgsql;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The scaled-out deployment, every role its own process: one ingest process (MQTT into a Kafka topic on
/// librdkafka's mock cluster), two stream workers in one consumer group, an API server, all on one
/// PostgreSQL database that also holds the checkpoints. The group splits the partitions between the
/// workers; one is killed with -9 mid-round; the survivor is given its partitions and restores them
/// from the dead worker's checkpoints in PostgreSQL (not from the start of the log). At the end the
/// database equals, row for row, what one worker computes from the same topic in a group of its own,
/// the API server places every tag where the gateway last saw it: nothing lost, nothing doubled.
/// </summary>
[Trait("Capability", "Tracking")]
[Collection(PostgresCollection.Name)]
public sealed class Two_stream_workers_on_kafka_share_the_partitions_and_a_survivor_takes_over_from_shared_checkpoints(PostgresServer server)
{
    private const string Gateway = "gw-ward";
    private const string Topic = "tracking-scaleout";
    private const int Partitions = 4;
    private const int Tags = 120;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private static readonly string[] Zones = ["waiting-room", "triage", "exam-1", "exam-2", "recovery", "discharge"];

    [Fact]
    public async Task The_survivor_restores_the_killed_workers_partitions_and_the_database_equals_a_clean_run()
    {
        using var cluster = KafkaMockCluster.Start(brokers: 1);
        cluster.CreateTopic(Topic, Partitions);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(50));
        var database = await server.CreateDatabaseAsync();
        string[] Shared(string db) =>
        [
            "--EventLog:Kind", "kafka", "--EventLog:Kafka:BootstrapServers", cluster.BootstrapServers, "--EventLog:Kafka:Topic", Topic,
            "--EventLog:Kafka:Partitions", "4", "--EventLog:Kafka:ReplicationFactor", "1", "--EventLog:Kafka:CreateTopic", "false",
            "--EventLog:Kafka:LingerMs", "1", "--EventLog:Kafka:SessionTimeoutMs", "3000",
            "--database", "postgres", "--Tracking:ConnectionString", db, "--Engine:CheckpointInterval", "00:00:00.500",
        ];

        var truth = new Dictionary<string, string>(StringComparer.Ordinal);
        var rng = new Random(23);
        var t0 = EventTimes.NowUs() - 3_600_000_000;
        var published = 0;
        ulong sequence = 0;

        await using var ingest = await CloudProcess.StartAsync([Gateway], [.. Shared(database), "--role", "ingest"]);
        await using var api = await CloudProcess.StartAsync([Gateway], [.. Shared(database), "--role", "api", "--ingest-nodes", ingest.Http.BaseAddress!.ToString()]);
        var a = await CloudProcess.StartAsync([Gateway], [.. Shared(database), "--role", "stream"]);
        CloudProcess? b = null;
        try
        {
            await Eventually.TrueAsync(async () => (await PartitionsAsync(a)).Count == Partitions, Wait, "the first worker to own every partition");
            b = await CloudProcess.StartAsync([Gateway], [.. Shared(database), "--role", "stream"]);
            await Eventually.TrueAsync(
                async () => (await PartitionsAsync(a)).Count is > 0 and < Partitions && (await PartitionsAsync(a)).Count + (await PartitionsAsync(b)).Count == Partitions,
                Wait,
                "the group to split the partitions between the two workers");
            var killed = (await PartitionsAsync(b)).Select(p => p.GetProperty("partition").GetInt32()).ToHashSet();

            using (var client = await CloudProcess.ConnectGatewayAsync(ingest.MqttPort, Gateway))
            {
                await PublishRoundAsync(client);

                // Kill the second worker once it has checkpointed its partitions and is working on the round.
                await Eventually.TrueAsync(
                    async () => (await PartitionsAsync(b)) is { Count: > 0 } ps && ps.All(p => p.GetProperty("checkpointedOffset").GetInt64() > 0) && ps.Sum(p => p.GetProperty("outputs").GetInt64()) >= 100,
                    Wait,
                    "the second worker to checkpoint part of the round on each of its partitions");
                await b.Process.KillAsync();
                await PublishRoundAsync(client);
            }

            // The survivor gets every partition; the dead worker's ones resume from its checkpoints.
            var taken = (List<JsonElement>)(await Eventually.GetAsync(
                async () => await PartitionsAsync(a) is { Count: Partitions } ps ? (object)ps : null,
                Wait,
                "the survivor to be given the killed worker's partitions"))!;
            foreach (var p in taken.Where(p => killed.Contains(p.GetProperty("partition").GetInt32())))
            {
                Assert.True(p.GetProperty("restoredCheckpointId").GetInt64() > 0, $"partition {p.GetProperty("partition")} restarted from the start of the log, not from a shared checkpoint");
                Assert.True(p.GetProperty("restoredOffset").GetInt64() > 0);
            }

            await WaitCaughtUpAsync(a);
        }
        finally
        {
            await a.DisposeAsync();
            if (b is not null)
            {
                await b.DisposeAsync();
            }
        }

        // The same topic, read once by one worker in a group of its own, into a database of its own.
        var reference = await server.CreateDatabaseAsync();
        await using (var clean = await CloudProcess.StartAsync([Gateway], [.. Shared(reference), "--role", "stream", "--Tracking:GroupId", "reference"]))
        {
            await WaitCaughtUpAsync(clean);
        }

        var rows = await HistoryAsync(database);
        Assert.True(rows.Count > Tags, $"only {rows.Count} history rows");
        Assert.Equal(await HistoryAsync(reference), rows);

        // The API server reads the same database: every tag is where the gateway last saw it.
        var items = await api.GetArrayAsync("/api/assets?limit=500");
        Assert.Equal(
            truth.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value),
            items.Select(i => i.GetProperty("epc").GetString() + "=" + i.GetProperty("zone").GetString()).Order(StringComparer.Ordinal));
        var status = await api.Http.GetFromJsonAsync<JsonElement>("/api/status");
        Assert.Equal("api", status.GetProperty("role").GetString());

        // The gateway is connected to the ingest process; the API server shows it from there.
        var gateways = await api.GetArrayAsync("/api/gateways");
        var gateway = Assert.Single(gateways);
        Assert.Equal(Gateway, gateway.GetProperty("gatewayId").GetString());
        Assert.Equal(80, gateway.GetProperty("batches").GetInt64());

        async Task PublishRoundAsync(IMqttClient client)
        {
            for (var batch = 0; batch < 40; batch++)
            {
                var events = new List<PresenceEvent>();
                for (var i = 0; i < 25; i++)
                {
                    var epc = Epc.ParseHex($"3034{rng.Next(Tags):X20}");
                    var zone = Zones[rng.Next(Zones.Length)];
                    events.Add(new PresenceEvent { Epc = epc, Kind = PresenceKind.Move, Zone = zone, EventTimeUs = t0 + (published++ * 50_000), ReadCount = 3 });
                    truth[epc.ToString()] = zone;
                }

                var payload = BatchCodec.Encode(new Batch { GatewayId = Gateway, Sequence = ++sequence, Class = DataClass.Presence, CreatedUs = EventTimes.NowUs(), Events = events });
                var r = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.For(Gateway, TopicKind.Events)).WithPayload(payload)
                    .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
                Assert.True(r.IsSuccess, r.ReasonString);
            }
        }
    }

    private static async Task<List<JsonElement>> PartitionsAsync(CloudProcess worker)
    {
        try
        {
            var status = await worker.Http.GetFromJsonAsync<JsonElement>("/api/status");
            return status.GetProperty("tracking") is { ValueKind: JsonValueKind.Array } t ? [.. t.EnumerateArray()] : [];
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }

    private static Task WaitCaughtUpAsync(CloudProcess worker) => Eventually.TrueAsync(
        async () =>
        {
            if (!(await worker.Http.GetAsync("/readyz")).IsSuccessStatusCode)
            {
                return false;
            }

            var status = await worker.Http.GetFromJsonAsync<JsonElement>("/api/status");
            return status.GetProperty("bufferedEvents").GetInt32() == 0 && status.GetProperty("pendingWrites").GetInt64() == 0;
        },
        Wait,
        "the worker to catch up with the topic and write everything");

    private static async Task<List<string>> HistoryAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT h.epc, h.from_us, COALESCE(h.to_us, -1), COALESCE(z.name, '-'), h.gateway_id, h.open_event, h.late FROM history h LEFT JOIN zones z ON z.id = h.zone_id ORDER BY h.epc, h.from_us", c);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await r.ReadAsync())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, r.FieldCount).Select(i => Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }
}
