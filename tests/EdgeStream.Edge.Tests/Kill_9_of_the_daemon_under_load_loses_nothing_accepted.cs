using System.Buffers.Binary;
using EdgeStream.Contracts;

namespace EdgeStream.Edge.Tests;

/// <summary>
/// The daemon runs as its own process with a simulated reader under load, uplinking to a real
/// Mosquitto, and is killed with SIGKILL at random moments, many times, on the same data dir.
/// The accept boundary is <c>edgestream_edge_reads_accepted_total</c>: a read counts there only
/// once its group commit has synced it to disk. Every read counted before a kill (the simulated
/// reader numbers its reads, and the outbox keeps their order) must reach the broker after a
/// restart, and after the cloud's (gateway, sequence) dedupe none may appear twice.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class Kill_9_of_the_daemon_under_load_loses_nothing_accepted : IDisposable
{
    private const string Gateway = "gw-kill-9";
    private readonly TempDirectory _dataDir = new("es-kill9-");

    public void Dispose() => _dataDir.Dispose();

    private string[] Args(Uri broker, int run, int rate) =>
    [
        "run", "--gateway-id", Gateway,
        "--reader", $"sim://?rate={rate}&tags=0&run={run}&id=sim-{run}",
        "--broker", broker.ToString(),
        "--data-dir", _dataDir.Path,
        "--http", "127.0.0.1:0",
        "--outbox-commit-interval", "50ms",
        "--uplink-retry-min", "100ms",
        "--uplink-retry-max", "1s",
    ];

    [Fact]
    public async Task Every_read_accepted_before_a_kill_reaches_the_broker_once()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);
        var rng = new Random(9);
        var acceptedBeforeKill = new Dictionary<int, long>();
        const int kills = 10;

        for (var run = 1; run <= kills; run++)
        {
            await using var daemon = EdgeDaemonProcess.Start(Args(broker.Uri, run, 20_000));
            await daemon.WaitListeningAsync();

            // Let it run under load for a random while, reading the accept counter as it goes.
            var until = DateTime.UtcNow.AddMilliseconds(rng.Next(300, 2000));
            long accepted = 0;
            while (DateTime.UtcNow < until || accepted == 0)
            {
                accepted = (long)EdgeDaemonProcess.Metric(await daemon.ScrapeAsync(), "edgestream_edge_reads_accepted_total");
                await Task.Delay(rng.Next(5, 50));
            }

            // The last value read before the kill: everything below it was synced to disk.
            acceptedBeforeKill[run] = accepted;
            daemon.KillHard();
        }

        // A last start drains what the killed runs left behind.
        await using (var final = EdgeDaemonProcess.Start(Args(broker.Uri, 999, 1)))
        {
            await final.WaitListeningAsync();
            await Wait.Until(
                () => acceptedBeforeKill.All(kv => Received(cloud, kv.Key).Count >= kv.Value),
                "every accepted read of every killed run at the broker",
                seconds: 120,
                detail: () => string.Join(", ", acceptedBeforeKill.Select(kv => $"run {kv.Key}: {Received(cloud, kv.Key).Count}/{kv.Value}")));

            var health = await final.HealthAsync();
            Assert.Equal(200, health.Status);
            Assert.Equal(0, await final.StopAsync());
        }

        foreach (var (run, accepted) in acceptedBeforeKill)
        {
            var got = Received(cloud, run);
            for (long i = 0; i < accepted; i++)
            {
                Assert.True(got.Contains(i), $"run {run}: read {i} was accepted (counter {accepted}) but never reached the broker");
            }
        }

        // After dedupe by (gateway, sequence), no read twice.
        var all = cloud.Unique.SelectMany(b => b.Reads).Select(r => (Run(r), BatchCollector.IdOf(r))).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.True(cloud.Unique.Select(b => b.Sequence).Distinct().Count() == cloud.Unique.Count);
    }

    private static int Run(TagRead r) => BinaryPrimitives.ReadUInt16BigEndian(r.Epc.ToArray().AsSpan(2));

    private static HashSet<long> Received(BatchCollector cloud, int run) =>
        cloud.Unique.SelectMany(b => b.Reads).Where(r => Run(r) == run).Select(BatchCollector.IdOf).ToHashSet();
}
