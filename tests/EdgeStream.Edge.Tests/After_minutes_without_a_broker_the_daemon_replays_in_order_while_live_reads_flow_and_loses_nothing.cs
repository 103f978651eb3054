using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using EdgeStream.Contracts;

namespace EdgeStream.Edge.Tests;

/// <summary>
/// The daemon runs as its own process with a simulated reader feeding it, uplinking to a real
/// Mosquitto. Mosquitto is killed and stays down for two minutes while reads keep arriving; the
/// daemon keeps accepting them into its outbox. Then Mosquitto comes back on the same port: the
/// backlog is replayed in sequence order while batches sealed after the reconnect go out alongside
/// it (live data is not queued behind the backlog), and after the cloud's (gateway, sequence)
/// dedupe every accepted read has arrived exactly once, in reader order.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed partial class After_minutes_without_a_broker_the_daemon_replays_in_order_while_live_reads_flow_and_loses_nothing : IDisposable
{
    private const string Gateway = "gw-outage";
    private const int Rate = 2000;
    private static readonly TimeSpan Outage = TimeSpan.FromMinutes(2);
    private readonly TempDirectory _dataDir = new("es-outage-");

    public void Dispose() => _dataDir.Dispose();

    [Fact]
    public async Task Two_minutes_without_a_broker_lose_nothing_and_live_reads_flow_during_the_replay()
    {
        await using var broker = await MosquittoBroker.StartAsync();

        // The daemon reaches the broker through a proxy so that, once Mosquitto is back, the test's
        // cloud subscriber is in place before the daemon can publish (Mosquitto keeps no state here).
        await using var proxy = new TcpProxy(broker.Port);
        var before = await BatchCollector.StartAsync(broker.Uri);
        await using var daemon = EdgeDaemonProcess.Start(
            "run", "--gateway-id", Gateway,
            "--reader", $"sim://?rate={Rate}&tags=0&run=1&id=dock-door",
            "--broker", proxy.Uri.ToString(),
            "--data-dir", _dataDir.Path,
            "--http", "127.0.0.1:0",
            "--outbox-commit-interval", "50ms",
            "--uplink-retry-min", "100ms",
            "--uplink-retry-max", "1s",
            "--uplink-breaker-failures", "5",
            "--uplink-breaker-duration", "2s",
            // A cap stretches the replay of ~240,000 reads over seconds, so live batches demonstrably overtake its end.
            "--uplink-bandwidth", "1MB");
        await daemon.WaitListeningAsync();
        await Wait.Until(() => before.UniqueReads >= Rate, "reads at the broker before the outage", detail: () => daemon.Output);

        // The broker goes down and stays down.
        await broker.KillAsync();
        proxy.Cut();
        await before.DisposeAsync();
        var acceptedAtKill = await Accepted(daemon);
        var deliveredBefore = before.Unique;

        var outage = Stopwatch.StartNew();
        var accepted = acceptedAtKill;
        while (outage.Elapsed < Outage)
        {
            Assert.False(daemon.HasExited, $"the daemon stopped during the outage:\n{daemon.Output}");
            accepted = await Accepted(daemon);
            await Task.Delay(50);
        }

        // Reads kept being accepted all along (at least half the reader's rate over the two minutes).
        Assert.True(accepted - acceptedAtKill >= Rate * Outage.TotalSeconds / 2, $"only {accepted - acceptedAtKill} reads accepted during the outage");
        var scrape = await daemon.ScrapeAsync();
        Assert.True(EdgeDaemonProcess.Metric(scrape, "edgestream_edge_buffer_reads") > 0);
        Assert.Equal(0, EdgeDaemonProcess.Metric(scrape, "edgestream_edge_dropped_total{class=\"reads\",reason=\"overflow\"}"));
        Assert.Equal(200, (await daemon.HealthAsync()).Status);

        // The broker is back; the cloud subscribes, then the daemon's path opens.
        await broker.RestartAsync();
        await using var after = await BatchCollector.StartAsync(broker.Uri);
        var uplinkLog = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var boundary = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        daemon.Line += line =>
        {
            if (line.Contains("Uplink", StringComparison.Ordinal))
            {
                uplinkLog.Enqueue(line);
            }

            if (ReplayRegex().Match(line) is { Success: true } m)
            {
                boundary.TrySetResult(ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        var acceptedAtRestore = await Accepted(daemon);
        proxy.Restore();
        var backlogEnd = await boundary.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // Distinct read numbers below n at the broker: n once reads 0..n-1 have all arrived (later
        // batches can arrive before an earlier one, so a plain count would not do).
        long Below(long n) => Ids(deliveredBefore, after.Unique).Where(id => id < n).Distinct().LongCount();

        // Everything accepted up to the restore, then everything accepted some seconds of live flow later.
        await Wait.Until(() => Below(acceptedAtRestore) == acceptedAtRestore, "the backlog at the broker", seconds: 120, detail: () => $"{Below(acceptedAtRestore)}/{acceptedAtRestore}");
        var acceptedLater = await Accepted(daemon);
        await Wait.Until(() => Below(acceptedLater) == acceptedLater, "live reads at the broker", seconds: 120, detail: () => $"{Below(acceptedLater)}/{acceptedLater}");

        // Exactly once after dedupe: the reader numbers its reads 0, 1, 2...; every number below the
        // accepted count is present, and no number twice.
        var all = Ids(deliveredBefore, after.Unique);
        var distinct = all.ToHashSet();
        Assert.Equal(all.Count, distinct.Count);
        for (long id = 0; id < acceptedLater; id++)
        {
            Assert.True(distinct.Contains(id), $"read {id} was accepted but never reached the broker");
        }

        // In order per class: by sequence, the reads are in the reader's order...
        foreach (var byClass in deliveredBefore.Concat(after.Unique).GroupBy(b => b.Class))
        {
            var ids = byClass.OrderBy(b => b.Sequence).SelectMany(b => b.Reads).Select(BatchCollector.IdOf).ToList();
            Assert.Equal(ids.Order(), ids);

            // ...and after the reconnect, the backlog arrives in sequence order, and so do the live batches.
            var arrivals = after.Unique.Where(b => b.Class == byClass.Key).Select(b => b.Sequence).ToList();
            var backlog = arrivals.Where(s => s <= backlogEnd).ToList();
            var live = arrivals.Where(s => s > backlogEnd).ToList();
            var trace = $"backlog up to {backlogEnd}; arrivals: {string.Join(' ', arrivals)}\n{string.Join('\n', uplinkLog)}";
            Assert.True(backlog.Order().SequenceEqual(backlog), $"backlog out of order; {trace}");
            Assert.True(live.Order().SequenceEqual(live), $"live batches out of order; {trace}");
            if (byClass.Key == DataClass.Reads)
            {
                // Live was not starved: the first live batch arrived before the backlog's last one.
                Assert.NotEmpty(backlog);
                Assert.NotEmpty(live);
                Assert.True(arrivals.IndexOf(live[0]) < arrivals.IndexOf(backlog[^1]), $"live batch {live[0]} arrived only after the whole backlog (up to {backlogEnd})");
            }
        }

        Assert.True(EdgeDaemonProcess.Metric(await daemon.ScrapeAsync(), "edgestream_edge_uplink_reconnects_total") >= 1);
        Assert.Equal(0, await daemon.StopAsync());
    }

    private static async Task<long> Accepted(EdgeDaemonProcess daemon) =>
        (long)EdgeDaemonProcess.Metric(await daemon.ScrapeAsync(), "edgestream_edge_reads_accepted_total");

    /// <summary>Read numbers of both subscriptions' batches, deduped by sequence as the cloud does.</summary>
    private static List<long> Ids(List<Batch> before, List<Batch> after)
    {
        var seen = new HashSet<ulong>();
        var ids = new List<long>();
        foreach (var b in before.Concat(after))
        {
            if (seen.Add(b.Sequence))
            {
                ids.AddRange(b.Reads.Select(BatchCollector.IdOf));
            }
        }

        return ids;
    }

    [GeneratedRegex(@"replaying the backlog up to sequence (\d+)")]
    private static partial Regex ReplayRegex();
}
