namespace EdgeStream.Edge.Tests;

/// <summary>The installed daemon refuses to start on a bad value, with exit code 2 and a message naming the key.</summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_daemon_rejects_bad_configuration_naming_the_key
{
    [Fact]
    public async Task A_bad_reader_uri_stops_start_up_with_the_key_named()
    {
        await using var daemon = EdgeDaemonProcess.Start("run", "--gateway-id", "gw-1", "--reader", "sim://?rate=-5", "--broker", "mqtt://127.0.0.1:1883", "--http", "127.0.0.1:0");
        Assert.Equal(2, await daemon.WaitExitAsync());
        Assert.Contains("Configuration key 'reader'", daemon.Output, StringComparison.Ordinal);
    }
}
