using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Emulators;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.Gateways;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// <c>tracking.latency_*</c>: how long after a tag moves at the reader its new zone shows through the API,
/// with the product as a new user starts it. An emulated LLRP reader with overlapping antennas (the room a
/// tag leaves keeps hearing it, fading, for a second), the edge daemon with its default settings and only
/// the antenna → zone map, the cloud with its default settings; a client on <c>GET /api/changes</c>
/// (server-sent events, as live screens use it) notes when each move arrives. The move's instant is the
/// scenario's: when the new antenna starts hearing the tag.
/// </summary>
/// <remarks>
/// The breakdown comes from the cloud's log, read after the run: each move's record carries the time ingest
/// received it, so a move's latency splits into the edge's part (reorder tolerance, arbitration, outbox
/// commit, uplink: reader move → ingest) and the cloud's (watermark, job, database write, feed: ingest → API).
/// </remarks>
internal static partial class TrackingLatency
{
    private const string Password = "bench-secret";
    private const int Movers = 40;
    private const int Parked = 30;
    private const int MovePeriodMs = 8_000;
    private const int FirstMoveMs = 6_000;
    private const int OverlapMs = 1_000;

    public static async Task<IReadOnlyList<Figure>> RunAsync(TimeSpan duration, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("edgestream-bench-latency-").FullName;
        var start = DateTimeOffset.UtcNow.AddSeconds(10);
        var (scenario, moves) = Timeline((int)duration.TotalMilliseconds);
        await using var reader = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = scenario, StartAt = start });
        await reader.StartAsync(ct);

        var hash = EdgeStream.Gateways.GatewayPasswords.Hash(Password, 1000);
        var credentials = Path.Combine(dir, "gateways.json");
        await File.WriteAllTextAsync(credentials, JsonSerializer.Serialize(new { gateways = new[] { new { gatewayId = "gw-lat", passwordHash = hash } } }), ct);
        var data = Path.Combine(dir, "cloud");
        Directory.CreateDirectory(data);
        using var cloud = BenchProcesses.Start("edgestream-cloud.dll", ["--urls", "http://127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--data-dir", data, "--gateways", credentials], out var cloudOut);
        Process? edge = null;
        try
        {
            var text = await BenchProcesses.WaitForAsync(cloudOut, "cloud: ready", ct);
            var (portal, mqttPort) = BenchProcesses.CloudEndpoints(text);

            var edgeConfig = Path.Combine(dir, "edge.json");
            await File.WriteAllTextAsync(edgeConfig, """
                {
                  "windowing": {
                    "Zones": [
                      { "Name": "room-a", "Kind": "Room", "Antennas": [ { "Reader": "lat-reader", "Antenna": 1 } ] },
                      { "Name": "room-b", "Kind": "Room", "Antennas": [ { "Reader": "lat-reader", "Antenna": 2 } ] },
                      { "Name": "store", "Kind": "Room", "Antennas": [ { "Reader": "lat-reader", "Antenna": 3 } ] }
                    ]
                  }
                }
                """, ct);
            edge = BenchProcesses.Start("edgestream-edge.dll",
            [
                "run", "--config", edgeConfig, "--gateway-id", "gw-lat", "--reader", $"llrp://127.0.0.1:{reader.Port}?id=lat-reader",
                "--broker", $"mqtt://gw-lat:{Password}@127.0.0.1:{mqttPort}", "--data-dir", Path.Combine(dir, "edge"), "--http", "127.0.0.1:0",
            ], out _);

            // The feed, as a live screen reads it: each change's arrival time, by tag and zone.
            var arrivals = new List<(string Epc, string Zone, long AtUs, long ArrivedUs)>();
            using var http = new HttpClient { BaseAddress = portal, Timeout = Timeout.InfiniteTimeSpan };
            using var feedStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var feed = Task.Run(() => ReadFeedAsync(http, arrivals, feedStop.Token), CancellationToken.None);
            var end = start.AddMilliseconds(duration.TotalMilliseconds + 5_000);
            await Task.Delay(end - DateTimeOffset.UtcNow, ct);
            await feedStop.CancelAsync();
            try
            {
                await feed;
            }
            catch (OperationCanceledException)
            {
            }

            edge.Kill(entireProcessTree: true);
            cloud.Kill(entireProcessTree: true);
            await cloud.WaitForExitAsync(CancellationToken.None);
            var ingested = await IngestTimesAsync(Path.Combine(data, "log"), ct);

            var total = new List<double>();
            var edgePart = new List<double>();
            var cloudPart = new List<double>();
            var stamp = new List<double>();
            var missed = 0;
            var startUs = start.ToUnixTimeMilliseconds() * 1000;
            lock (arrivals)
            {
                foreach (var (epc, zone, atMs) in moves.Where(m => m.AtMs + 4_000 < duration.TotalMilliseconds))
                {
                    var movedUs = startUs + (atMs * 1000L);
                    var hit = arrivals.FirstOrDefault(a => a.Epc == epc && a.Zone == zone && a.AtUs >= movedUs - 1_000_000 && a.AtUs <= movedUs + 4_000_000);
                    if (hit.Epc is null)
                    {
                        missed++;
                        continue;
                    }

                    total.Add((hit.ArrivedUs - movedUs) / 1000.0);
                    stamp.Add((hit.AtUs - movedUs) / 1000.0);
                    if (ingested.TryGetValue((epc, hit.AtUs), out var ingestUs))
                    {
                        edgePart.Add((ingestUs - movedUs) / 1000.0);
                        cloudPart.Add((hit.ArrivedUs - ingestUs) / 1000.0);
                    }
                }
            }

            if (total.Count == 0)
            {
                throw new InvalidOperationException($"no move reached the API ({arrivals.Count} changes seen)");
            }

            return
            [
                new Figure("tracking.latency_p50_ms", Percentile(total, 0.50), "ms"),
                new Figure("tracking.latency_p99_ms", Percentile(total, 0.99), "ms"),
                new Figure("tracking.latency_max_ms", total.Max(), "ms"),
                new Figure("tracking.latency.moves", total.Count, "moves"),
                new Figure("tracking.latency.missed_moves", missed, "moves"),
                new Figure("tracking.latency.edge_p50_ms", Percentile(edgePart, 0.50), "ms"),
                new Figure("tracking.latency.edge_p99_ms", Percentile(edgePart, 0.99), "ms"),
                new Figure("tracking.latency.cloud_p50_ms", Percentile(cloudPart, 0.50), "ms"),
                new Figure("tracking.latency.cloud_p99_ms", Percentile(cloudPart, 0.99), "ms"),
                new Figure("tracking.latency.event_time_after_move_p50_ms", Percentile(stamp, 0.50), "ms"),
            ];
        }
        finally
        {
            if (edge is not null && !edge.HasExited)
            {
                edge.Kill(entireProcessTree: true);
            }

            edge?.Dispose();
            if (!cloud.HasExited)
            {
                cloud.Kill(entireProcessTree: true);
            }

            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Movers walk between room A (antenna 1) and room B (antenna 2), each every 8 s, their moves spread
    /// 200 ms apart; the room left keeps hearing the tag for 1 s, fading. Parked tags sit in the store.
    /// </summary>
    private static (Scenario Scenario, List<(string Epc, string Zone, int AtMs)> Moves) Timeline(int durationMs)
    {
        var tags = new List<ScenarioTag>();
        var moves = new List<(string, string, int)>();
        var endMs = durationMs + 30_000;
        for (var i = 0; i < Movers; i++)
        {
            var epc = $"E28011902000050C{i:X8}";
            var sightings = new List<Sighting>();
            var from = 0;
            var antenna = 1;
            for (var at = FirstMoveMs + (i * 200); from < endMs; at += MovePeriodMs)
            {
                var to = Math.Min(at + OverlapMs, endMs);
                sightings.Add(new Sighting { Antenna = antenna, FromMs = from, ToMs = to, RssiFrom = -50, RssiPeak = -45, RssiTo = -74 });
                antenna = antenna == 1 ? 2 : 1;
                if (at < endMs)
                {
                    moves.Add((epc, antenna == 1 ? "room-a" : "room-b", at));
                }

                from = at;
            }

            tags.Add(new ScenarioTag { Epc = epc, Sightings = sightings });
        }

        for (var i = 0; i < Parked; i++)
        {
            tags.Add(new ScenarioTag { Epc = $"E28011902000050D{i:X8}", Sightings = [new Sighting { Antenna = 3, FromMs = 0, ToMs = endMs, RssiFrom = -55, RssiPeak = -50, RssiTo = -55 }] });
        }

        return (new Scenario { Name = "latency", TickMs = 100, PeriodMs = endMs + 1_000, Antennas = 3, Tags = tags }.Validate(), moves);
    }

    private static async Task ReadFeedAsync(HttpClient http, List<(string, string, long, long)> arrivals, CancellationToken ct)
    {
        await using var stream = await http.GetStreamAsync("/api/changes", ct);
        using var lines = new StreamReader(stream);
        while (await lines.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var arrived = EventTimes.NowUs();
            var change = JsonDocument.Parse(line.AsMemory(6)).RootElement;
            if (change.GetProperty("zone").ValueKind != JsonValueKind.String)
            {
                continue;
            }

            var at = DateTimeOffset.Parse(change.GetProperty("at").GetString()!, CultureInfo.InvariantCulture);
            lock (arrivals)
            {
                arrivals.Add((change.GetProperty("epc").GetString()!, change.GetProperty("zone").GetString()!, (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10, arrived));
            }
        }
    }

    /// <summary>When ingest received each presence record, by (EPC, event time), from the cloud's embedded log.</summary>
    private static async Task<Dictionary<(string, long), long>> IngestTimesAsync(string logDir, CancellationToken ct)
    {
        var result = new Dictionary<(string, long), long>();
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = logDir });
        var ends = new long[log.PartitionCount];
        for (var p = 0; p < ends.Length; p++)
        {
            ends[p] = (await log.GetOffsetsAsync(p, ct)).End;
        }

        using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "bench-latency-" + Guid.NewGuid().ToString("N") });
        var next = new long[ends.Length];
        var deadline = Stopwatch.StartNew();
        while (Enumerable.Range(0, ends.Length).Any(p => next[p] < ends[p]) && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            foreach (var r in await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), ct))
            {
                next[r.Partition] = Math.Max(next[r.Partition], r.Offset + 1);
                var entry = LogRecordCodec.Decode(r.Value.Span);
                if (entry.Class == DataClass.Presence)
                {
                    // Times in the feed are whole microseconds of the corrected event time.
                    result.TryAdd((entry.Epc.ToString(), entry.CorrectedTimeUs), entry.IngestTimeUs);
                }
            }
        }

        return result;
    }

    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }
}
