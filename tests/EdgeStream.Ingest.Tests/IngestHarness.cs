using System.Buffers;
using System.Net;
using System.Net.Sockets;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.Gateways;
using EdgeStream.Ingest;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeStream.Ingest.Tests;

internal static class TestBatches
{
    public static Batch Reads(string gateway, ulong sequence, int count = 10)
    {
        var reads = new TagRead[count];
        for (var i = 0; i < count; i++)
        {
            reads[i] = new TagRead
            {
                Epc = Epc.ParseHex($"3034F00D00000000{sequence % 0xFFFF:X4}{i:X4}"),
                ReaderId = "door",
                Antenna = 1,
                RssiCentiDbm = -5000,
                EventTimeUs = 1_764_000_000_000_000 + ((long)sequence * 1000) + i,
                Source = SourceKind.Llrp,
                SeenCount = 1,
            };
        }

        return new Batch { GatewayId = gateway, Sequence = sequence, Class = DataClass.Reads, CreatedUs = 1_764_000_000_000_000, Reads = reads };
    }

    public static MqttApplicationMessage Message(string topic, byte[] payload) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    public static MqttApplicationMessage BatchMessage(Batch batch) => Message(Topics.ForBatch(batch.GatewayId, batch.Class), BatchCodec.Encode(batch));
}

/// <summary>
/// The embedded broker as the cloud host wires it: an in-process MQTTnet server on a loopback port with
/// the ingest broker policy and pipeline attached, over an embedded log in a temp folder.
/// </summary>
internal sealed class EmbeddedBrokerHarness : IAsyncDisposable
{
    public const string Password = "s3cret-pass";

    private readonly TempDirectory _dir = new();

    private EmbeddedBrokerHarness()
    {
    }

    public EmbeddedEventLog Log { get; private set; } = null!;

    public IngestPipeline Pipeline { get; private set; } = null!;

    public IngestMetrics Metrics => Pipeline.Metrics;

    public MqttServer Server { get; private set; } = null!;

    public int Port { get; private set; }

    public GatewayCredentialStore Credentials { get; private set; } = null!;

    public string Directory => _dir.Path;

    public static async Task<EmbeddedBrokerHarness> StartAsync(
        IEnumerable<GatewayCredential>? credentials = null,
        Func<IEventLog, IEventLog>? wrapLog = null,
        Func<MqttServerOptionsBuilder, GatewayCredentialStore, MqttServerOptionsBuilder>? configure = null,
        params string[] gateways)
    {
        var h = new EmbeddedBrokerHarness();
        h.Log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = Path.Combine(h._dir.Path, "log"), Partitions = 4 });
        var hash = GatewayPasswords.Hash(Password, iterations: 1000);
        h.Credentials = new GatewayCredentialStore(credentials ?? gateways.Select(g => new GatewayCredential { GatewayId = g, PasswordHash = hash }));
        IEventLog log = wrapLog is null ? h.Log : wrapLog(h.Log);
        h.Pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(h._dir.Path, "ingest") }, log);
        h.Port = Net.FreePort();
        var builder = new MqttServerFactory().CreateServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(h.Port)
            .WithPersistentSessions(true);
        if (configure is not null)
        {
            builder = configure(builder, h.Credentials);
        }

        h.Server = new MqttServerFactory().CreateMqttServer(builder.Build());
        new IngestBrokerPolicy(h.Credentials, h.Metrics).Attach(h.Server, h.Pipeline);
        await h.Server.StartAsync();
        return h;
    }

    public MqttClientOptionsBuilder ClientOptions(string clientId, string? user = null, string? password = Password) =>
        new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", Port)
            .WithClientId(clientId)
            .WithCredentials(user ?? clientId, password)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(30));

    public async Task<IMqttClient> ConnectAsync(string gatewayId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(ClientOptions(gatewayId).Build());
        return client;
    }

    public async Task<long> LogEndAsync()
    {
        long total = 0;
        for (var p = 0; p < Log.PartitionCount; p++)
        {
            total += (await Log.GetOffsetsAsync(p)).End;
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync();
        Server.Dispose();
        Pipeline.Dispose();
        Metrics.Dispose();
        await Log.DisposeAsync();
        _dir.Dispose();
    }
}
