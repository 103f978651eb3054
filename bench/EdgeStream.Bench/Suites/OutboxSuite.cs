using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using EdgeStream.Contracts;
using EdgeStream.Outbox;
using EdgeStream.Outbox.Storage;
using EdgeStream.Uplink.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Store-and-forward figures: into the durable outbox with the link down, end to end from a
/// simulated reader through the edge daemon to Mosquitto on loopback, backlog drain while live
/// reads keep arriving, the daemon's resident memory under that load, and disk bytes per read.
/// </summary>
public sealed partial class OutboxSuite : IBenchmarkSuite
{
    public string Name => "outbox";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), "es-bench-outbox-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (rate, bytesPerRead) = await IntoOutboxLinkDown(Path.Combine(root, "ingest"));
            yield return new Figure("edge.outbox.reads_per_s", rate, "reads/s");
            yield return new Figure("edge.outbox.bytes_per_read", bytesPerRead, "bytes");

            await using var broker = await Mosquitto.StartAsync(root);
            var plain = Daemon.FrameworkDependent();
            var (e2e, rssAtMax, _) = await ThroughDaemon(plain, broker.Port, Path.Combine(root, "daemon-max"), 400_000);
            yield return new Figure("edge.e2e.reads_per_s", e2e, "reads/s");
            yield return new Figure("edge.rss_mb.framework_dependent.at_400k_reads_per_s", rssAtMax, "MB");

            // The steady state the product targets, 50,000 reads/s end to end, first as built...
            var (_, rssPlain, _) = await ThroughDaemon(plain, broker.Port, Path.Combine(root, "daemon-50k"), 50_000);
            yield return new Figure("edge.rss_mb.framework_dependent", rssPlain, "MB");

            // ...then as a gateway runs it: the published build with the systemd unit's environment.
            var published = await Daemon.PublishAsync(Path.Combine(root, "published"));
            var (_, rss, rssLater) = await ThroughDaemon(published, broker.Port, Path.Combine(root, "published-50k"), 50_000, holdSeconds: 30);
            yield return new Figure("edge.rss_mb", rss, "MB");

            // Steady means flat: the same run read again at 30 s (a cache or a GC generation that keeps
            // growing shows here, not at 8 s).
            yield return new Figure("edge.rss_mb.at_30s", rssLater, "MB");
            var (_, rssPublishedMax, _) = await ThroughDaemon(published, broker.Port, Path.Combine(root, "published-max"), 400_000);
            yield return new Figure("edge.rss_mb.at_400k_reads_per_s", rssPublishedMax, "MB");

            yield return new Figure("edge.drain.reads_per_s", await DrainWhileLive(broker.Port, Path.Combine(root, "drain")), "reads/s");
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, true);
            }
        }
    }

    private static TagRead[] Reads(int n, long first)
    {
        var readers = new[] { "dock-door-1", "dock-door-2" };
        var reads = new TagRead[n];
        var epc = new byte[12];
        epc[0] = 0x30;
        for (var i = 0; i < n; i++)
        {
            var id = first + i;
            BinaryPrimitives.WriteInt64BigEndian(epc.AsSpan(4), id % 5000);
            reads[i] = new TagRead
            {
                Epc = Epc.FromBytes(epc),
                ReaderId = readers[id & 1],
                Antenna = (ushort)(1 + (id % 4)),
                RssiCentiDbm = (short)(-4000 - (id * 37 % 3500)),
                EventTimeUs = 1_764_000_000_000_000 + (id * 250),
                Source = SourceKind.Llrp,
                SeenCount = 1,
            };
        }

        return reads;
    }

    /// <summary>One producer appending groups of 100 reads (as LLRP reports arrive) as fast as the outbox takes them; no uplink.</summary>
    private static async Task<(double Rate, double BytesPerRead)> IntoOutboxLinkDown(string dir)
    {
        var options = new OutboxOptions { GatewayId = "gw-bench", CommitInterval = TimeSpan.FromMilliseconds(100) };
        await using var outbox = Outbox.Outbox.Open(options, new FileOutboxStorage(dir), NullLogger.Instance);
        var group = Reads(100, 0);

        // Warm-up.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(1))
        {
            await outbox.AppendReadsAsync(group, default);
        }

        await outbox.FlushAsync(default);
        var start = outbox.AcceptedReads;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(4))
        {
            await outbox.AppendReadsAsync(group, default);
        }

        await outbox.FlushAsync(default);
        var rate = (outbox.AcceptedReads - start) / sw.Elapsed.TotalSeconds;
        return (rate, (double)outbox.BufferBytes / outbox.BufferedReads);
    }

    /// <summary>
    /// The daemon with a simulated reader at <paramref name="readerRate"/>, uplinking to Mosquitto; delivered reads/s,
    /// RSS after 8 s, and RSS again at <paramref name="holdSeconds"/> when given (else NaN).
    /// </summary>
    private static async Task<(double Rate, double RssMb, double RssLaterMb)> ThroughDaemon(Daemon daemon, int brokerPort, string dataDir, int readerRate, int holdSeconds = 0)
    {
        var psi = new ProcessStartInfo(daemon.Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in daemon.Environment)
        {
            psi.Environment[key] = value;
        }

        foreach (var a in daemon.Arguments.Concat(["run", "--gateway-id", "gw-bench", "--reader", $"sim://?rate={readerRate}&tags=2000", "--broker", $"mqtt://127.0.0.1:{brokerPort}", "--data-dir", dataDir, "--http", "127.0.0.1:0"]))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && ListeningRegex().Match(e.Data) is { Success: true } m)
            {
                listening.TrySetResult(new Uri(m.Groups[1].Value));
            }
        };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            var uri = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = uri };
            async Task<double> Delivered()
            {
                var text = await http.GetStringAsync("/metrics");
                return Metric(text, "edgestream_edge_reads_accepted_total") - Metric(text, "edgestream_edge_buffer_reads");
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
            var d0 = await Delivered();
            var sw = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(5));
            var d1 = await Delivered();
            var rate = (d1 - d0) / sw.Elapsed.TotalSeconds;
            var rss = ReadRssMb(p.Id);
            var later = double.NaN;
            if (holdSeconds > 0)
            {
                var hold = TimeSpan.FromSeconds(holdSeconds) - TimeSpan.FromSeconds(3) - sw.Elapsed;
                if (hold > TimeSpan.Zero)
                {
                    await Task.Delay(hold);
                }

                later = ReadRssMb(p.Id);
            }

            return (rate, rss, later);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }

    /// <summary>A 1,000,000-read backlog built with the link down, then drained to Mosquitto while 10k live reads/s keep arriving.</summary>
    private static async Task<double> DrainWhileLive(int brokerPort, string dir)
    {
        var options = new OutboxOptions { GatewayId = "gw-drain", CommitInterval = TimeSpan.FromMilliseconds(100) };
        await using var outbox = Outbox.Outbox.Open(options, new FileOutboxStorage(dir), NullLogger.Instance);
        const int backlog = 1_000_000;
        var group = Reads(1000, 0);
        for (var i = 0; i < backlog; i += group.Length)
        {
            await outbox.AppendReadsAsync(group, default);
        }

        await outbox.FlushAsync(default);
        var backlogEnd = outbox.LastSequence;

        using var stop = new CancellationTokenSource();
        var live = Task.Run(async () =>
        {
            var small = Reads(100, 0);
            var sw = Stopwatch.StartNew();
            long sent = 0;
            while (!stop.IsCancellationRequested)
            {
                if (sent < sw.Elapsed.TotalSeconds * 10_000)
                {
                    await outbox.AppendReadsAsync(small, default);
                    sent += small.Length;
                }
                else
                {
                    await Task.Delay(5);
                }
            }
        });

        var uplink = new MqttUplink(new UplinkOptions { GatewayId = "gw-drain", Broker = new Uri($"mqtt://127.0.0.1:{brokerPort}") }, outbox, NullLogger.Instance);
        var run = Task.Run(() => uplink.RunAsync(stop.Token));
        var clock = Stopwatch.StartNew();
        while (outbox.TryGetNext(DataClass.Reads, 0, backlogEnd, out _) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        var elapsed = clock.Elapsed.TotalSeconds;
        var left = 0L;
        ulong after = 0;
        while (outbox.TryGetNext(DataClass.Reads, after, backlogEnd, out var b))
        {
            left += b.Count;
            after = b.Sequence;
        }

        await stop.CancelAsync();
        await live;
        try
        {
            await run;
        }
        catch (OperationCanceledException)
        {
        }

        return (backlog - left) / elapsed;
    }

    private static double Metric(string scrape, string name)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"{name} missing from /metrics");
    }

    private static double ReadRssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }

    /// <summary>How to start the daemon: the plain build under <c>dotnet</c>, or the published executable with the systemd unit's environment.</summary>
    private sealed record Daemon(string Executable, string[] Arguments, IReadOnlyList<(string Key, string Value)> Environment)
    {
        public static Daemon FrameworkDependent() => new("dotnet", [Path.Combine(AppContext.BaseDirectory, "edgestream-edge.dll")], []);

        /// <summary>Runs <c>packaging/publish-edge.sh</c> into <paramref name="output"/>; the environment is the unit file's <c>Environment=</c> lines.</summary>
        public static async Task<Daemon> PublishAsync(string output)
        {
            var repo = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(repo, "EdgeStream.sln")))
            {
                repo = Path.GetDirectoryName(repo.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("EdgeStream.sln not found above the benchmark's folder.");
            }

            var rid = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
            {
                System.Runtime.InteropServices.Architecture.Arm64 => "linux-arm64",
                System.Runtime.InteropServices.Architecture.Arm => "linux-arm",
                _ => "linux-x64",
            };
            var psi = new ProcessStartInfo(Path.Combine(repo, "packaging", "publish-edge.sh"), [rid, output]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException("packaging/publish-edge.sh failed: " + await stderr);
            }

            var environment = new List<(string, string)>();
            foreach (var line in File.ReadLines(Path.Combine(repo, "packaging", "systemd", "edgestream-edge.service")))
            {
                if (line.StartsWith("Environment=", StringComparison.Ordinal) && line.IndexOf('=', 12) is var eq and > 12)
                {
                    environment.Add((line[12..eq], line[(eq + 1)..]));
                }
            }

            return new Daemon(Path.Combine(output, "edgestream-edge"), [], environment);
        }
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex ListeningRegex();

    /// <summary>Mosquitto on a free loopback port, for the broker figures.</summary>
    private sealed class Mosquitto : IAsyncDisposable
    {
        private readonly Process _process;

        private Mosquitto(Process process, int port)
        {
            _process = process;
            Port = port;
        }

        public int Port { get; }

        public static async Task<Mosquitto> StartAsync(string root)
        {
            for (var attempt = 0; ; attempt++)
            {
                int port;
                using (var l = new TcpListener(IPAddress.Loopback, 0))
                {
                    l.Start();
                    port = ((IPEndPoint)l.LocalEndpoint).Port;
                }

                Directory.CreateDirectory(root);
                var conf = Path.Combine(root, $"mosquitto-{port}.conf");
                await File.WriteAllTextAsync(conf, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nlog_type error\n");
                var p = Process.Start(new ProcessStartInfo("mosquitto", ["-c", conf]) { UseShellExecute = false, RedirectStandardError = true })!;
                for (var i = 0; i < 200 && !p.HasExited; i++)
                {
                    try
                    {
                        using var c = new TcpClient();
                        await c.ConnectAsync(IPAddress.Loopback, port);
                        return new Mosquitto(p, port);
                    }
                    catch (SocketException)
                    {
                        await Task.Delay(20);
                    }
                }

                if (!p.HasExited)
                {
                    p.Kill();
                }

                if (attempt > 5)
                {
                    throw new InvalidOperationException("mosquitto did not start (run scripts/setup.sh).");
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
