using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using Microsoft.Data.Sqlite;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// Exactly-once effects of the tracking job in the database. A gateway publishes a ward's movements
/// while the cloud process is killed with -9 again and again, mid-batch; each time it restarts from its
/// checkpoint and replays. The database it ends with must equal, row for row, the database that a
/// fresh process computes from the same log without a single crash: no history row lost, none doubled.
/// </summary>
[Trait("Capability", "Tracking")]
public sealed class Kill_9_of_the_stream_process_leaves_the_database_as_a_clean_replay_would
{
    private const string Gateway = "gw-ward";
    private const int Tags = 150;
    private const int Kills = 6;
    private static readonly string[] Zones = ["waiting-room", "triage", "exam-1", "exam-2", "recovery", "discharge"];

    [Fact]
    public async Task History_and_locations_match_a_replay_of_the_log_after_repeated_kills()
    {
        using var dir = new TempDirectory();
        var crashed = Path.Combine(dir.Path, "crashed");
        var clean = Path.Combine(dir.Path, "clean");
        Directory.CreateDirectory(crashed);
        Directory.CreateDirectory(clean);

        var cloud = await CloudProcess.StartInAsync(crashed, [Gateway], 0, "--Engine:CheckpointInterval", "00:00:00.500");
        var port = cloud.MqttPort;
        var truth = new Dictionary<string, string>();
        var t0 = EventTimes.NowUs() - 3_600_000_000;
        var rng = new Random(11);
        ulong sequence = 0;
        var published = 0;
        try
        {
            for (var kill = 0; kill <= Kills; kill++)
            {
                // Publish a round of movements, then kill the process while the job is still working on them.
                using (var client = await CloudProcess.ConnectGatewayAsync(port, Gateway))
                {
                    for (var b = 0; b < 40; b++)
                    {
                        var events = new List<PresenceEvent>();
                        for (var i = 0; i < 25; i++)
                        {
                            var tag = rng.Next(Tags);
                            var epc = Epc.ParseHex($"3034{tag:X20}");
                            var zone = Zones[rng.Next(Zones.Length)];
                            var t = t0 + (published++ * 50_000);
                            events.Add(new PresenceEvent { Epc = epc, Kind = PresenceKind.Move, Zone = zone, EventTimeUs = t, ReadCount = 3 });
                            truth[epc.ToString()] = zone;
                        }

                        var batch = new Batch { GatewayId = Gateway, Sequence = ++sequence, Class = DataClass.Presence, CreatedUs = EventTimes.NowUs(), Events = events };
                        var r = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.For(Gateway, TopicKind.Events)).WithPayload(BatchCodec.Encode(batch))
                            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
                        Assert.True(r.IsSuccess, r.ReasonString);
                    }
                }

                if (kill < Kills)
                {
                    // Wait until this process's job has emitted part of the round, so the kill lands mid-work.
                    await Eventually.TrueAsync(async () => await OutputsAsync(cloud) >= 200, TimeSpan.FromSeconds(30), "the job to be working on the round");
                    await cloud.Process.KillAsync();
                    await cloud.DisposeAsync();
                    cloud = await CloudProcess.StartInAsync(crashed, [Gateway], port, "--Engine:CheckpointInterval", "00:00:00.500");
                }
            }

            await WaitCaughtUpAsync(cloud);
        }
        finally
        {
            await cloud.DisposeAsync();
        }

        // The same log, processed once without a crash.
        CopyDirectory(Path.Combine(crashed, "log"), Path.Combine(clean, "log"));
        await using (var reference = await CloudProcess.StartInAsync(clean, [Gateway], 0))
        {
            await WaitCaughtUpAsync(reference);
        }

        var crashedRows = await HistoryAsync(Path.Combine(crashed, "tracking.db"));
        var cleanRows = await HistoryAsync(Path.Combine(clean, "tracking.db"));
        Assert.True(cleanRows.Count > Tags, $"only {cleanRows.Count} history rows");
        Assert.Equal(cleanRows, crashedRows);
        Assert.Equal(await LocationsAsync(Path.Combine(clean, "tracking.db")), await LocationsAsync(Path.Combine(crashed, "tracking.db")));

        // And both place every tag where the gateway last saw it.
        var now = await LocationsAsync(Path.Combine(crashed, "tracking.db"));
        Assert.Equal(truth.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value), now);
    }

    private static async Task<long> OutputsAsync(CloudProcess cloud)
    {
        try
        {
            var status = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/status");
            return status.GetProperty("tracking").EnumerateArray().Sum(p => p.GetProperty("outputs").GetInt64());
        }
        catch (HttpRequestException)
        {
            return -1;
        }
    }

    private static Task WaitCaughtUpAsync(CloudProcess cloud) => Eventually.TrueAsync(
        async () =>
        {
            if (!(await cloud.Http.GetAsync("/readyz")).IsSuccessStatusCode)
            {
                return false;
            }

            var status = await cloud.Http.GetFromJsonAsync<JsonElement>("/api/status");
            return status.GetProperty("bufferedEvents").GetInt32() == 0 && status.GetProperty("pendingWrites").GetInt64() == 0;
        },
        TimeSpan.FromSeconds(60),
        "the tracking job to catch up with the log and write everything");

    private static async Task<List<string>> HistoryAsync(string db)
    {
        await using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT h.epc, h.from_us, COALESCE(h.to_us, -1), COALESCE(z.name, '-'), h.gateway_id, h.open_event, h.late FROM history h LEFT JOIN zones z ON z.id = h.zone_id ORDER BY h.epc, h.from_us";
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await r.ReadAsync())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, r.FieldCount).Select(i => Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    private static async Task<List<string>> LocationsAsync(string db)
    {
        await using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT a.id, COALESCE(z.name, '-') FROM assets a LEFT JOIN zones z ON z.id = a.zone_id ORDER BY a.id";
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await r.ReadAsync())
        {
            rows.Add(r.GetString(0) + "=" + r.GetString(1));
        }

        return rows;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(d.Replace(from, to, StringComparison.Ordinal));
        }

        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(f, f.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
