using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Emulators;

namespace EdgeStream.Scenarios.Tests;

/// <summary>
/// The seed scenario, every program a process of its own and every fault of the field at once. A ward
/// has two gateways: the front desk (waiting room, triage) and the care wing (two exam rooms, recovery,
/// discharge), each with an emulated LLRP reader whose neighbouring antennas overlap. 60 patients'
/// badges walk waiting room → triage → exam → recovery → discharge and leave, on one shared timeline.
/// The care wing's reader clock is an hour behind; the front desk's uplink is cut for 100 s (beyond the
/// job's 60 s allowed lateness, so its backlog comes in late); the
/// cloud (ingest, log, tracking job, API: the default one-process form) is killed with -9 mid-run and
/// restarted. At the end every patient's history, read from the API, matches the timeline interval by
/// interval: the same zones in the same order, each boundary within the tolerance that arbitration and
/// the departure timeout allow.
/// </summary>
/// <remarks>
/// By default the test runs 60 patients (about 5 minutes). The issue's full size, 200 patients with a
/// ten-minute cut and the kill at 10 min, runs with WARD_SIZE=full (about 14 minutes), outside the CI
/// budget. The switch is deliberately not an EDGESTREAM_ variable: the edge reads every EDGESTREAM_*
/// variable as one of its options and refuses to start on one it does not know.
/// The full size found two defects of the clock-skew estimate, both fixed: the front desk's ten-minute
/// backlog (thousands of batches) pushed its fresh status out of the sample buffer, so its right clock
/// was taken as 444 s slow; and the care wing, connected for ten minutes without a new status, lost its
/// hour's correction for a few batches.
/// </remarks>
[Trait("Capability", "Tracking")]
public sealed class A_hospital_ward_through_a_skewed_clock_a_cut_uplink_and_a_killed_worker : IDisposable
{
    private static readonly bool Full = Environment.GetEnvironmentVariable("WARD_SIZE") == "full";
    private static readonly int Patients = Full ? 200 : 60;
    private const int OverlapMs = 2_000;
    private static readonly int CutFromMs = Full ? 60_000 : 30_000;
    private static readonly int CutToMs = Full ? 660_000 : 130_000;
    private static readonly int KillAtMs = Full ? 600_000 : 110_000;
    private const int ReaderBehindMs = -3_600_000;

    /// <summary>How far an interval's start may be from the timeline's: arbitration window, hold-off and reads needed, with margin.</summary>
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(4);

    /// <summary>The departure timeout of the discharge zone (an exit): the last interval may end up to this much later.</summary>
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(2);

    private static readonly string[] Front = ["waiting-room", "triage"];
    private static readonly string[] Care = ["exam-1", "exam-2", "recovery", "discharge"];
    private readonly TempDirectory _dir = new("edgestream-ward-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_patients_history_matches_the_timeline_interval_by_interval()
    {
        var start = DateTimeOffset.UtcNow.AddSeconds(8);
        var (front, care, truth) = Timeline(new Random(7));

        var cloudDir = Path.Combine(_dir.Path, "cloud");
        Directory.CreateDirectory(cloudDir);
        var cloud = await CloudProcess.StartInAsync(cloudDir, ["gw-front", "gw-care"], 0);
        var mqttPort = cloud.MqttPort;
        await using var frontLink = new TcpProxy(mqttPort);
        await using var frontReader = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = front, StartAt = start });
        await using var careReader = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = care, StartAt = start });
        await frontReader.StartAsync();
        await careReader.StartAsync();
        await using var frontEdge = StartEdge("gw-front", "front", frontReader.Port, frontLink.Port, Front, 1);
        await using var careEdge = StartEdge("gw-care", "care", careReader.Port, mqttPort, Care, 1);
        try
        {
            await AtAsync(start, CutFromMs);
            frontLink.Cut();

            await AtAsync(start, KillAtMs);
            await cloud.Process.KillAsync();
            var firstLife = cloud.Process.Output;
            await cloud.DisposeAsync();
            cloud = await CloudProcess.StartInAsync(cloudDir, ["gw-front", "gw-care"], mqttPort);

            await AtAsync(start, CutToMs);
            frontLink.Restore();

            var mismatches = new List<string>();
            try
            {
                await Eventually.TrueAsync(
                    async () =>
                    {
                        mismatches = await CompareAsync(cloud, truth, start);
                        return mismatches.Count == 0;
                    },
                    TimeSpan.FromMinutes(3),
                    "every patient's history to match the timeline");
            }
            catch (TimeoutException)
            {
                var histories = new List<string>();
                foreach (var epc in mismatches.Select(m => m.Split(':')[0]).Distinct().Take(3))
                {
                    try
                    {
                        histories.Add(epc + " history: " + string.Join("\n  ", (await cloud.GetArrayAsync($"/api/assets/{epc}/history?limit=100")).Select(h => h.GetRawText())));
                    }
                    catch (HttpRequestException ex)
                    {
                        histories.Add($"{epc} history: {ex.Message}");
                    }
                }

                var status = await cloud.Http.GetStringAsync("/api/status");
                var known = (await cloud.GetArrayAsync("/api/assets")).Length;
                var secondLife = cloud.Process.Output;
                await cloud.DisposeAsync();
                histories.Add($"status: {status}\nassets known: {known}\nfirst life, last lines:\n{Tail(firstLife)}\nsecond life, last lines:\n{Tail(secondLife)}\nfront edge, last lines:\n{Tail(frontEdge.Output)}\ncare edge, last lines:\n{Tail(careEdge.Output)}");
                var dump = await DumpLogAsync(Path.Combine(cloudDir, "log"), mismatches.Select(m => m.Split(':')[0]).Distinct().Take(3).ToHashSet(), start);
                Assert.Fail(string.Join('\n', histories) + "\n" + dump + "\n" + $"{mismatches.Count} differences from the timeline remain, among them:\n" + string.Join('\n', mismatches.Take(30)));
            }

            // The 100 s the front desk buffered came in late, and were placed anyway.
            var late = await cloud.GetArrayAsync("/api/late");
            Assert.Contains(late, l => l.GetProperty("gateway").GetString() == "gw-front");

            // The care wing's hour is measured and shown.
            var gateways = await cloud.GetArrayAsync("/api/gateways");
            var skew = gateways.Single(g => g.GetProperty("gatewayId").GetString() == "gw-care").GetProperty("clockSkewMs").GetDouble();
            Assert.InRange(skew, ReaderBehindMs - 3_000, ReaderBehindMs + 3_000);

            // Everyone has left: no patient is shown anywhere now.
            var assets = await cloud.GetArrayAsync("/api/assets");
            Assert.All(assets.Where(a => truth.ContainsKey(a.GetProperty("epc").GetString()!)), a => Assert.Equal(JsonValueKind.Null, a.GetProperty("zone").ValueKind));
        }
        finally
        {
            await cloud.DisposeAsync();
        }
    }

    /// <summary>Each patient's zone intervals from the API against the timeline; one line per difference.</summary>
    private static async Task<List<string>> CompareAsync(CloudProcess cloud, Dictionary<string, List<(string Zone, long FromMs, long ToMs)>> truth, DateTimeOffset start)
    {
        var problems = new List<string>();
        foreach (var (epc, expected) in truth)
        {
            JsonElement[] history;
            try
            {
                history = await cloud.GetArrayAsync($"/api/assets/{epc}/history?limit=100");
            }
            catch (HttpRequestException ex)
            {
                problems.Add($"{epc}: {ex.Message}");
                continue;
            }

            var seen = history
                .Where(h => h.GetProperty("zone").ValueKind == JsonValueKind.String)
                .Select(h => (Zone: h.GetProperty("zone").GetString()!, From: Ms(h.GetProperty("from"), start), To: h.GetProperty("to").ValueKind == JsonValueKind.Null ? (long?)null : Ms(h.GetProperty("to"), start)))
                .OrderBy(h => h.From)
                .ToList();
            var zones = string.Join(" → ", seen.Select(s => s.Zone));
            if (zones != string.Join(" → ", expected.Select(e => e.Zone)))
            {
                problems.Add($"{epc}: zones {zones}, expected {string.Join(" → ", expected.Select(e => e.Zone))}");
                continue;
            }

            var tolerance = (long)Tolerance.TotalMilliseconds;
            for (var i = 0; i < expected.Count; i++)
            {
                if (Math.Abs(seen[i].From - expected[i].FromMs) > tolerance)
                {
                    problems.Add($"{epc}: {seen[i].Zone} from {seen[i].From} ms, expected {expected[i].FromMs} ms");
                }
            }

            var last = seen[^1];
            var leftAt = expected[^1].ToMs;
            if (last.To is not { } to || to < leftAt - tolerance || to > leftAt + (long)ExitTimeout.TotalMilliseconds + tolerance)
            {
                problems.Add($"{epc}: left {last.Zone} at {last.To?.ToString(CultureInfo.InvariantCulture) ?? "(still there)"} ms, expected {leftAt} ms");
            }
        }

        return problems;
    }

    private static async Task<string> DumpLogAsync(string logDir, HashSet<string> epcs, DateTimeOffset start)
    {
        var lines = new List<string>();
        await using var log = EdgeStream.EventLog.Embedded.EmbeddedEventLog.Open(new EdgeStream.EventLog.Embedded.EmbeddedLogOptions { Directory = logDir });
        var startUs = start.ToUnixTimeMilliseconds() * 1000;
        var ends = new long[log.PartitionCount];
        for (var p = 0; p < ends.Length; p++)
        {
            ends[p] = (await log.GetOffsetsAsync(p, default)).End;
        }

        var next = new long[ends.Length];
        using var consumer = log.CreateConsumer(new EdgeStream.EventLog.LogConsumerOptions { GroupId = "dump-" + Guid.NewGuid().ToString("N") });
        var idle = 0;
        while (Enumerable.Range(0, ends.Length).Any(p => next[p] < ends[p]) && idle < 20)
        {
            var batch = await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), default);
            idle = batch.Count == 0 ? idle + 1 : 0;
            foreach (var r in batch)
            {
                next[r.Partition] = Math.Max(next[r.Partition], r.Offset + 1);
                var e = EdgeStream.Contracts.Wire.LogRecordCodec.Decode(r.Value.Span);
                if (e.Class == EdgeStream.Contracts.DataClass.Presence && epcs.Contains(e.Epc.ToString()))
                {
                    lines.Add($"{e.Epc} p{r.Partition}@{r.Offset} {e.GatewayId}/{e.Sequence}/{e.Index} {e.Presence.Kind} {e.Presence.Zone} event {(e.EventTimeUs - startUs) / 1000} corrected {(e.CorrectedTimeUs - startUs) / 1000} ingest {(e.IngestTimeUs - startUs) / 1000} offset {e.ClockOffsetUs / 1000}");
                }
            }
        }

        return string.Join('\n', lines);
    }

    private static string Tail(string output) => string.Join('\n', output.Split('\n').TakeLast(40));

    private static long Ms(JsonElement time, DateTimeOffset start) =>
        (long)(DateTimeOffset.Parse(time.GetString()!, CultureInfo.InvariantCulture) - start).TotalMilliseconds;

    /// <summary>
    /// The ward's timeline: patient i arrives at 5 s + 2.5 s × i, then stays 20–35 s in the waiting room,
    /// 10–18 s in triage, 20–35 s in an exam room, 20–35 s in recovery and 8–12 s at discharge. Each
    /// sighting overlaps the next by 2 s, the one fading as the other grows; the zone changes where the
    /// old antenna stops hearing the badge. A wheelchair parked in recovery keeps the care reader busy from 0.
    /// </summary>
    private static (Scenario Front, Scenario Care, Dictionary<string, List<(string Zone, long FromMs, long ToMs)>> Truth) Timeline(Random rng)
    {
        var front = new List<ScenarioTag>();
        var care = new List<ScenarioTag>();
        var truth = new Dictionary<string, List<(string, long, long)>>(StringComparer.Ordinal);
        var end = 0;
        for (var i = 0; i < Patients; i++)
        {
            var epc = $"E2801190200005A1{i:X8}";
            var t = 5_000 + (i * 2_500);
            var path = new (string Zone, bool AtFront, int Antenna, int Ms)[]
            {
                ("waiting-room", true, 1, rng.Next(20_000, 35_000)),
                ("triage", true, 2, rng.Next(10_000, 18_000)),
                (i % 2 == 0 ? "exam-1" : "exam-2", false, i % 2 == 0 ? 1 : 2, rng.Next(20_000, 35_000)),
                ("recovery", false, 3, rng.Next(20_000, 35_000)),
                ("discharge", false, 4, rng.Next(8_000, 12_000)),
            };
            var frontSightings = new List<Sighting>();
            var careSightings = new List<Sighting>();
            var intervals = new List<(string, long, long)>();
            for (var k = 0; k < path.Length; k++)
            {
                var from = t;
                var to = t + path[k].Ms;
                intervals.Add((path[k].Zone, from, to));
                var sighting = new Sighting
                {
                    Antenna = path[k].Antenna,
                    FromMs = k == 0 ? from : from - OverlapMs,
                    ToMs = to,
                    RssiFrom = -68,
                    RssiPeak = -45,
                    RssiTo = -68,
                };
                (path[k].AtFront ? frontSightings : careSightings).Add(sighting);
                t = to;
            }

            end = Math.Max(end, t);
            front.Add(new ScenarioTag { Epc = epc, Label = $"patient P-{i + 1:D4}", Sightings = frontSightings });
            care.Add(new ScenarioTag { Epc = epc, Label = $"patient P-{i + 1:D4}", Sightings = careSightings });
            truth[epc] = intervals;
        }

        care.Add(new ScenarioTag
        {
            Epc = "E2801190200005B100000001",
            Label = "wheelchair parked in recovery",
            Sightings = [new Sighting { Antenna = 3, FromMs = 0, ToMs = end + 60_000, RssiFrom = -55, RssiPeak = -52, RssiTo = -55 }],
        });
        var period = end + 120_000;
        return (
            new Scenario { Name = "ward-front", TickMs = 250, PeriodMs = period, Antennas = 2, Tags = front }.Validate(),
            new Scenario { Name = "ward-care", TickMs = 250, PeriodMs = period, Antennas = 4, ClockOffsetMs = ReaderBehindMs, Tags = care }.Validate(),
            truth);
    }

    private ChildProcess StartEdge(string gateway, string reader, int readerPort, int brokerPort, string[] zones, int firstAntenna)
    {
        var folder = Path.Combine(_dir.Path, gateway);
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "edge.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["outbox-commit-interval"] = "100ms",
            ["windowing"] = new
            {
                ReorderToleranceMs = 500,
                DedupeIntervalMs = 1000,
                DepartureTimeoutMs = 5000,
                Arbitration = new { WindowMs = 1500, MinReads = 3, MinMeanRssiDbm = -75, MoveMarginDb = 4, HoldOffMs = 1000 },
                Zones = zones.Select((z, i) => z == "discharge"
                    ? (object)new { Name = z, Kind = "Exit", DepartureTimeoutMs = (int)ExitTimeout.TotalMilliseconds, Antennas = new[] { new { Reader = reader, Antenna = firstAntenna + i } } }
                    : new { Name = z, Kind = "Room", Antennas = new[] { new { Reader = reader, Antenna = firstAntenna + i } } }),
            },
        }));
        return ChildProcess.StartDotnet("edgestream-edge.dll",
        [
            "run", "--config", config, "--gateway-id", gateway,
            "--reader", $"llrp://127.0.0.1:{readerPort}?id={reader}",
            "--broker", $"mqtt://{gateway}:{CloudProcess.GatewayPassword}@127.0.0.1:{brokerPort}",
            "--data-dir", Path.Combine(folder, "data"), "--http", "127.0.0.1:0",
        ]);
    }

    private static async Task AtAsync(DateTimeOffset start, int timelineMs)
    {
        // The timeline is the wall clock: wait for the instant the scenario names.
        var due = start.AddMilliseconds(timelineMs) - DateTimeOffset.UtcNow;
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due);
        }
    }
}
