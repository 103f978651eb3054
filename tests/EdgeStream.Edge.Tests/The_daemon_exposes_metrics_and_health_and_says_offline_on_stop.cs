namespace EdgeStream.Edge.Tests;

/// <summary>
/// The running daemon serves the required Prometheus metrics and /healthz on its loopback port,
/// publishes a retained online status, and on SIGTERM commits, says offline and exits 0.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_daemon_exposes_metrics_and_health_and_says_offline_on_stop : IDisposable
{
    private readonly TempDirectory _dataDir = new("es-metrics-");

    public void Dispose() => _dataDir.Dispose();

    [Fact]
    public async Task Metrics_health_and_status_are_served()
    {
        await using var broker = await InProcessBroker.StartAsync();
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);
        await using var daemon = EdgeDaemonProcess.Start(
            "run", "--gateway-id", "gw-metrics", "--reader", "sim://?rate=2000&tags=20", "--broker", broker.Uri.ToString(),
            "--data-dir", _dataDir.Path, "--http", "127.0.0.1:0");
        await daemon.WaitListeningAsync();

        string scrape = string.Empty;
        await Wait.Until(
            () =>
            {
                scrape = daemon.ScrapeAsync().GetAwaiter().GetResult();
                return EdgeDaemonProcess.Metric(scrape, "edgestream_edge_batches_acked_total") > 0;
            },
            "batches acknowledged by the broker",
            detail: () => daemon.Output);

        foreach (var name in new[]
        {
            "edgestream_edge_reads_accepted_total", "edgestream_edge_batches_acked_total", "edgestream_edge_buffer_reads",
            "edgestream_edge_buffer_bytes", "edgestream_edge_buffer_oldest_age_seconds", "edgestream_edge_uplink_reconnects_total",
        })
        {
            Assert.Contains($"\n{name} ", "\n" + scrape, StringComparison.Ordinal);
            Assert.Contains($"# TYPE {name} ", scrape, StringComparison.Ordinal);
        }

        Assert.Contains("edgestream_edge_dropped_total{class=\"reads\",reason=\"overflow\"} 0", scrape, StringComparison.Ordinal);
        Assert.Contains("edgestream_edge_dropped_total{class=\"presence\",reason=\"overflow\"} 0", scrape, StringComparison.Ordinal);
        Assert.True(EdgeDaemonProcess.Metric(scrape, "edgestream_edge_reads_accepted_total") > 0);

        // The daemon's own footprint, for the 64 MB budget.
        Assert.True(EdgeDaemonProcess.Metric(scrape, "edgestream_edge_process_resident_bytes") > 1_000_000);
        Assert.True(EdgeDaemonProcess.Metric(scrape, "edgestream_edge_process_threads") > 1);
        Assert.True(EdgeDaemonProcess.Metric(scrape, "edgestream_edge_gc_allocated_bytes_total") > 0);
        Assert.Contains("# TYPE edgestream_edge_gc_committed_bytes gauge", scrape, StringComparison.Ordinal);

        var (status, body) = await daemon.HealthAsync();
        Assert.Equal(200, status);
        Assert.Contains("\"status\":\"ok\"", body, StringComparison.Ordinal);
        Assert.Contains("\"uplinkConnected\":true", body, StringComparison.Ordinal);
        await Wait.Until(() => cloud.Status.TryGetValue("gw-metrics", out var s) && EdgeStream.Contracts.GatewayStatus.TryParse(System.Text.Encoding.UTF8.GetBytes(s), out var st) && st!.Online, "retained online status");

        Assert.Equal(0, await daemon.StopAsync());
        await Wait.Until(() => cloud.Status.TryGetValue("gw-metrics", out var s) && EdgeStream.Contracts.GatewayStatus.TryParse(System.Text.Encoding.UTF8.GetBytes(s), out var st) && !st!.Online, "offline status after a clean stop");
    }
}
