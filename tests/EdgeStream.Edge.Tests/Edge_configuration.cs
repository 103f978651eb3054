using EdgeStream.Edge.Configuration;
using EdgeStream.Outbox;

namespace EdgeStream.Edge.Tests;

[Trait("Capability", "StoreAndForward")]
public sealed class Edge_configuration : IDisposable
{
    private static readonly Dictionary<string, string?> NoEnv = [];
    private readonly string _file = Path.Combine(Path.GetTempPath(), "es-edge-config-" + Guid.NewGuid().ToString("N") + ".json");

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void The_run_command_takes_what_an_installer_needs()
    {
        var o = EdgeConfiguration.Load(
            ["--gateway-id", "gw-7", "--reader", "sim://?rate=10", "--reader", "sim://?rate=20&id=b", "--broker", "mqtts://edge:s3cret@broker.example.com:8883", "--data-dir", "/tmp/x", "--http", "127.0.0.1:9555"],
            NoEnv);
        Assert.Equal("gw-7", o.GatewayId);
        Assert.Equal(["sim://?rate=10", "sim://?rate=20&id=b"], o.Readers);
        Assert.Equal("/tmp/x", o.DataDir);
        Assert.Equal(9555, o.Http.Port);
        Assert.True(o.Uplink.UseTls);
        Assert.Equal("broker.example.com", o.Uplink.Broker.Host);
        Assert.Equal("gw-7", o.Outbox.GatewayId);
    }

    [Fact]
    public void The_same_keys_come_from_a_file_and_the_environment_with_the_command_line_winning()
    {
        File.WriteAllText(_file, """
            {
              // comments are allowed
              "gateway-id": "from-file",
              "reader": ["sim://?rate=1", "sim://?rate=2&id=two"],
              "broker": "mqtt://file-broker:1883",
              "outbox-max-bytes": "512MB",
              "outbox-commit-interval": "250ms",
              "uplink-bandwidth": "64KB"
            }
            """);
        var env = new Dictionary<string, string?>
        {
            ["EDGESTREAM_CONFIG"] = _file,
            ["EDGESTREAM_BROKER"] = "mqtt://env-broker:1883",
            ["EDGESTREAM_OUTBOX_MAX_AGE"] = "3d",
            ["PATH"] = "/usr/bin",
        };
        var o = EdgeConfiguration.Load(["--gateway-id", "from-cli"], env);
        Assert.Equal("from-cli", o.GatewayId);
        Assert.Equal("env-broker", o.Uplink.Broker.Host);
        Assert.Equal(2, o.Readers.Count);
        Assert.Equal(512L * 1024 * 1024, o.Outbox.MaxBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.Outbox.CommitInterval);
        Assert.Equal(TimeSpan.FromDays(3), o.Outbox.MaxAge);
        Assert.Equal(64 * 1024, o.Uplink.BandwidthBytesPerSecond);
    }

    [Theory]
    [InlineData("gateway-id", new[] { "--reader", "sim://", "--broker", "mqtt://b:1" })]
    [InlineData("reader", new[] { "--gateway-id", "g", "--broker", "mqtt://b:1" })]
    [InlineData("broker", new[] { "--gateway-id", "g", "--reader", "sim://", "--broker", "http://b:1" })]
    [InlineData("http", new[] { "--gateway-id", "g", "--reader", "sim://", "--broker", "mqtt://b:1", "--http", "0.0.0.0:9464" })]
    [InlineData("outbox-max-bytes", new[] { "--gateway-id", "g", "--reader", "sim://", "--broker", "mqtt://b:1", "--outbox-max-bytes", "lots" })]
    [InlineData("outbox-commit-interval", new[] { "--gateway-id", "g", "--reader", "sim://", "--broker", "mqtt://b:1", "--outbox-commit-interval", "1h" })]
    [InlineData("uplink-inflight", new[] { "--gateway-id", "g", "--reader", "sim://", "--broker", "mqtt://b:1", "--uplink-inflight", "0" })]
    [InlineData("brokr", new[] { "--gateway-id", "g", "--reader", "sim://", "--brokr", "mqtt://b:1" })]
    public void Bad_values_stop_the_start_with_a_message_naming_the_key(string key, string[] args)
    {
        var ex = Assert.Throws<OptionsException>(() => EdgeConfiguration.Load(args, NoEnv));
        Assert.Equal(key, ex.Key);
        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_typo_in_an_environment_variable_is_reported_not_ignored()
    {
        var env = new Dictionary<string, string?> { ["EDGESTREAM_GATEWAYID"] = "g" };
        var ex = Assert.Throws<OptionsException>(() => EdgeConfiguration.Load(["--reader", "sim://", "--broker", "mqtt://b:1"], env));
        Assert.Equal("gatewayid", ex.Key);
        Assert.Contains("EDGESTREAM_GATEWAYID", ex.Message, StringComparison.Ordinal);
    }
}
