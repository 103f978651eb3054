using EdgeStream.Contracts;

namespace EdgeStream.Edge.Tests;

/// <summary>
/// The daemon with a windowing section in its config file uploads presence events as their own
/// data class, and on SIGTERM stops with exit code 0 (the windowing stage used to throw on the
/// host's second dispose, aborting the process on every stop).
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_daemon_with_windowing_uploads_presence_and_stops_cleanly : IDisposable
{
    private readonly TempDirectory _dir = new("es-windowing-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Presence_events_arrive_and_a_stop_exits_zero()
    {
        var config = Path.Combine(_dir.Path, "edge.json");
        await File.WriteAllTextAsync(config, """
            { "windowing": { "Zones": [
                { "Name": "ward-3", "Kind": "Room", "Antennas": [ { "Reader": "dock-a", "Antenna": 1 }, { "Reader": "dock-a", "Antenna": 3 } ] },
                { "Name": "main-exit", "Kind": "Exit", "Antennas": [ { "Reader": "dock-a", "Antenna": 2 }, { "Reader": "dock-a", "Antenna": 4 } ] } ] } }
            """);
        await using var broker = await InProcessBroker.StartAsync();
        await using var cloud = await BatchCollector.StartAsync(broker.Uri);
        await using var daemon = EdgeDaemonProcess.Start(
            "run", "--config", config, "--gateway-id", "gw-windowing", "--reader", "sim://?rate=500&tags=20&id=dock-a",
            "--broker", broker.Uri.ToString(), "--data-dir", Path.Combine(_dir.Path, "data"), "--http", "127.0.0.1:0");
        await daemon.WaitListeningAsync();

        await Wait.Until(() => cloud.Unique.Any(b => b.Class == DataClass.Presence && b.Events.Count > 0), "presence events at the broker", detail: () => daemon.Output);
        Assert.Contains(cloud.Unique.Where(b => b.Class == DataClass.Presence).SelectMany(b => b.Events), e => e.Zone is "ward-3" or "main-exit");

        Assert.Equal(0, await daemon.StopAsync());
        Assert.DoesNotContain("Unhandled exception", daemon.Output, StringComparison.Ordinal);
    }
}
