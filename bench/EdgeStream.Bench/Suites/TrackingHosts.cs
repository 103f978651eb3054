using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Gateways;
using MQTTnet;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// A private PostgreSQL cluster for the <c>pg</c> group (initdb into a temp folder, a free port, its own
/// socket folder; as the <c>postgres</c> user under root, since PostgreSQL refuses root). Never the service.
/// </summary>
internal sealed class BenchPostgres : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "edgestream-bench-pg-" + Guid.NewGuid().ToString("N")[..8]);
    private string _bin = string.Empty;

    public string ConnectionString { get; private set; } = string.Empty;

    public async Task StartAsync()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "initdb"))).OrderDescending().FirstOrDefault() ?? string.Empty
            : string.Empty;
        if (_bin.Length == 0)
        {
            throw new InvalidOperationException("PostgreSQL is not installed (scripts/setup.sh installs it).");
        }

        var data = Path.Combine(_root, "data");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(Path.Combine(_root, "socket"));
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["-R", "postgres:postgres", _root], false);
        }

        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", data, "-U", "edgestream", "--auth=trust", "-E", "UTF8"], true);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        // Durable as in production (fsync on); shared_buffers sized for the million-asset set.
        var options = $"-p {port} -k {Path.Combine(_root, "socket")} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_wal_size=4GB";
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(_root, "server.log"), "-o", options, "-w", "-t", "120", "start"], true);
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=edgestream;Database=postgres";
    }

    /// <summary>Runs ANALYZE on the whole database.</summary>
    public async Task AnalyzeAsync()
    {
        await using var c = new Npgsql.NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand("ANALYZE", c) { CommandTimeout = 3600 };
        await cmd.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        if (_bin.Length > 0)
        {
            try
            {
                await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-m", "immediate", "-w", "stop"], true);
            }
            catch (InvalidOperationException)
            {
                // Already stopped.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task RunAsync(string file, string[] args, bool asPostgres)
    {
        var psi = new ProcessStartInfo(asPostgres && Environment.UserName == "root" ? "runuser" : file) { RedirectStandardError = true, RedirectStandardOutput = true };
        if (asPostgres && Environment.UserName == "root")
        {
            foreach (var a in new[] { "-u", "postgres", "--", file })
            {
                psi.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited with {p.ExitCode}: {await stderr} {await stdout}");
        }
    }
}

/// <summary>
/// The product end to end in one process: <c>edgestream-cloud</c> as a user starts it (embedded log,
/// embedded database, default configuration), four gateways publishing presence batches over MQTT as
/// fast as the broker acknowledges them, timed until the job has read every event and the database
/// holds every output.
/// </summary>
/// <remarks>
/// The site: <c>TRACKING_BENCH_E2E_TAGS</c> tags (100,000 by default) over the four gateways, and event
/// time that runs at the target rate (100,000 events per second of event time over the four), so that
/// each tag is read as often as it would be at that rate and the last-seen throttle (one refresh per
/// tag per 10 s) works as it does on a site. An input whose event time crawls would make every read a
/// tag's first in 10 s, and so a database write.
/// </remarks>
internal static partial class TrackingEndToEnd
{
    private const string Password = "bench-secret";

    /// <summary>Event time between two events of one gateway: four gateways at 25,000 events/s each.</summary>
    private const long EventSpacingUs = 40;

    private static int Tags { get; set; } = 100_000;

    /// <summary>
    /// Two mixes: <c>tracking.e2e</c> as a site sends (the edge's reads and presence events, one batch
    /// in twenty a batch of moves, so most events refresh last-seen and some move a tag), and
    /// <c>tracking.e2e.all_moves</c>, the worst case, where every event moves a tag to another zone and
    /// so writes history.
    /// </summary>
    public static async Task<IReadOnlyList<Figure>> RunAsync(int events, CancellationToken ct)
    {
        Tags = int.Parse(Environment.GetEnvironmentVariable("TRACKING_BENCH_E2E_TAGS") ?? "100000", System.Globalization.CultureInfo.InvariantCulture);
        var mixed = await RunOnceAsync(events, movesEvery: 20, "tracking.e2e", ct);
        var moves = await RunOnceAsync(events / 4, movesEvery: 1, "tracking.e2e.all_moves", ct);
        return [.. mixed, .. moves];
    }

    private static async Task<IReadOnlyList<Figure>> RunOnceAsync(int events, int movesEvery, string prefix, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("edgestream-bench-e2e-").FullName;
        var gateways = Enumerable.Range(0, 4).Select(i => "gw-" + i).ToArray();
        var hash = EdgeStream.Gateways.GatewayPasswords.Hash(Password, 1000);
        var credentials = Path.Combine(dir, "gateways.json");
        await File.WriteAllTextAsync(credentials, JsonSerializer.Serialize(new { gateways = gateways.Select(g => new { gatewayId = g, passwordHash = hash }) }), ct);
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        using var cloud = BenchProcesses.Start("edgestream-cloud.dll", ["--urls", "http://127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--data-dir", Path.Combine(dir, "data"), "--gateways", credentials], out var output);
        try
        {
            var (portal, mqttPort) = BenchProcesses.CloudEndpoints(await BenchProcesses.WaitForAsync(output, "cloud: ready", ct));
            var http = new HttpClient { BaseAddress = portal };

            var perGateway = events / gateways.Length;
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(gateways.Select((g, gi) => PublishAsync(mqttPort, g, gi, perGateway, movesEvery, ct)));
            var published = sw.Elapsed;
            var total = perGateway * gateways.Length;
            while (true)
            {
                var status = await http.GetFromJsonAsync<JsonElement>("/api/status", ct);
                var read = status.GetProperty("tracking").EnumerateArray().Sum(p => p.GetProperty("events").GetInt64());
                if (read >= total && status.GetProperty("pendingWrites").GetInt64() == 0)
                {
                    break;
                }

                if (sw.Elapsed > TimeSpan.FromSeconds(total / 2000 + 30))
                {
                    throw new TimeoutException($"e2e: {read} of {total} events read after 10 minutes: {status}\n{await http.GetStringAsync("/api/deadletters?limit=3", ct)}");
                }

                await Task.Delay(50, ct);
            }

            var elapsed = sw.Elapsed;
            cloud.Refresh();
            return
            [
                new Figure(prefix + ".events_per_s", total / elapsed.TotalSeconds, "events/s"),
                new Figure(prefix + ".ingest.events_per_s", total / published.TotalSeconds, "events/s"),
                new Figure(prefix + ".rss_mb", cloud.WorkingSet64 / 1048576.0, "MB"),
            ];
        }
        finally
        {
            cloud.Kill(entireProcessTree: true);
            await cloud.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task PublishAsync(int port, string gateway, int gi, int events, int movesEvery, CancellationToken ct)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(gateway).WithCredentials(gateway, Password).Build(), ct);
        const int batchSize = 500;
        var t = EventTimes.NowUs() - 600_000_000;
        var tags = Math.Max(1, Tags / 4);
        var zones = TrackingSuite.Zones;
        var rng = new Random(gi);
        var inflight = new List<Task>();
        ulong seq = 0;
        for (var sent = 0; sent < events; sent += batchSize)
        {
            var n = Math.Min(batchSize, events - sent);
            Batch batch;
            if (++seq % (ulong)movesEvery == 0)
            {
                var list = new PresenceEvent[n];
                for (var i = 0; i < list.Length; i++)
                {
                    t += EventSpacingUs;
                    list[i] = new PresenceEvent { Epc = TrackingInput.Tag((gi * 1_000_000) + rng.Next(tags)), Kind = PresenceKind.Move, Zone = zones[rng.Next(zones.Length)], EventTimeUs = t, ReadCount = 3 };
                }

                batch = new Batch { GatewayId = gateway, Sequence = seq, Class = DataClass.Presence, CreatedUs = t + 100_000, Events = list };
            }
            else
            {
                var list = new TagRead[n];
                for (var i = 0; i < list.Length; i++)
                {
                    t += EventSpacingUs;
                    list[i] = new TagRead { Epc = TrackingInput.Tag((gi * 1_000_000) + rng.Next(tags)), ReaderId = "r1", Antenna = (ushort)(1 + rng.Next(4)), RssiCentiDbm = -5500, EventTimeUs = t, SeenCount = 1, Source = SourceKind.Llrp };
                }

                batch = new Batch { GatewayId = gateway, Sequence = seq, Class = DataClass.Reads, CreatedUs = t + 100_000, Reads = list };
            }

            inflight.Add(client.PublishAsync(
                new MqttApplicationMessageBuilder().WithTopic(Topics.ForBatch(gateway, batch.Class)).WithPayload(BatchCodec.Encode(batch))
                    .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build(),
                ct));
            if (inflight.Count >= 16)
            {
                await inflight[0];
                inflight.RemoveAt(0);
            }
        }

        await Task.WhenAll(inflight);
    }
}
