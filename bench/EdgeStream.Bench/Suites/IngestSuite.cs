using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.EventLog.Kafka;
using EdgeStream.Gateways;
using EdgeStream.Ingest;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Cloud ingest figures: the embedded log alone, MQTT → ingest pipeline → embedded log and → Kafka
/// (librdkafka mock cluster), and the embedded MQTTnet broker beside Mosquitto under the same
/// QoS 1 publish load. Every publisher waits for its PUBACK, so the figures are acknowledged throughput.
/// </summary>
public sealed class IngestSuite : IBenchmarkSuite
{
    private const int Gateways = 8;
    private const int ReadsPerBatch = 500;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(4);

    public string Name => "ingest";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), "edgestream-bench-ingest-" + Guid.NewGuid().ToString("N"));
        try
        {
            yield return new Figure("cloud.log.append.records_per_s", await EmbeddedAppendAsync(Path.Combine(root, "append")), "records/s");
            yield return new Figure("cloud.log.consume.records_per_s", await EmbeddedConsumeAsync(Path.Combine(root, "consume")), "records/s");

            await using (var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = Path.Combine(root, "log"), Partitions = 8 }))
            {
                yield return new Figure("cloud.ingest.reads_per_s", await MqttIngestAsync(log, Path.Combine(root, "ingest")), "reads/s");
            }

            using (var cluster = KafkaMockCluster.Start(3))
            {
                cluster.CreateTopic("edgestream-records", 8, 3);
                await using var kafka = await KafkaEventLog.OpenAsync(new KafkaLogOptions
                {
                    BootstrapServers = cluster.BootstrapServers,
                    Partitions = 8,
                    LingerMs = 2,
                });
                yield return new Figure("cloud.ingest.kafka.reads_per_s", await MqttIngestAsync(kafka, Path.Combine(root, "ingest-kafka")), "reads/s");
            }

            yield return new Figure("mqtt.mqttnet.msgs_per_s", await MqttNetBrokerAsync(), "msgs/s");
            yield return new Figure("mqtt.mosquitto.msgs_per_s", await MosquittoBrokerAsync(root), "msgs/s");
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<double> EmbeddedAppendAsync(string dir)
    {
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = dir, Partitions = 8 });
        var batch = SampleMessages(ReadsPerBatch);
        return await RunConcurrentlyAsync(4, async _ =>
        {
            await log.AppendAsync(batch);
            return batch.Count;
        });
    }

    private static async Task<double> EmbeddedConsumeAsync(string dir)
    {
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = dir, Partitions = 8 });
        var batch = SampleMessages(ReadsPerBatch);
        for (var i = 0; i < 4000; i++)
        {
            await log.AppendAsync(batch);
        }

        using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "bench" });
        long total = 0;
        var sw = Stopwatch.StartNew();
        while (total < 4000L * ReadsPerBatch)
        {
            total += (await consumer.ConsumeAsync(TimeSpan.FromSeconds(1))).Count;
        }

        return total / sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> MqttIngestAsync(IEventLog log, string stateDir)
    {
        using var pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = stateDir }, log);
        var hash = GatewayPasswords.Hash("bench", 1000);
        var credentials = new GatewayCredentialStore(Enumerable.Range(0, Gateways).Select(i => new GatewayCredential { GatewayId = $"gw-{i}", PasswordHash = hash }));
        var port = FreePort();
        using var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build());
        new IngestBrokerPolicy(credentials, pipeline.Metrics).Attach(server, pipeline);
        await server.StartAsync();
        try
        {
            var clients = await ConnectAsync(port, Gateways, i => $"gw-{i}", "bench");
            var sequences = new ulong[Gateways];
            var template = WireSuite.SampleBatch(ReadsPerBatch);
            var result = await RunConcurrentlyAsync(Gateways, async i =>
            {
                var gw = $"gw-{i}";
                var batch = template with { GatewayId = gw, Sequence = ++sequences[i] };
                var r = await clients[i].PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic(Topics.ForBatch(gw, DataClass.Reads)).WithPayload(BatchCodec.Encode(batch))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                return r.ReasonCode == MqttClientPublishReasonCode.Success ? ReadsPerBatch : throw new InvalidOperationException(r.ReasonCode.ToString());
            });
            if (pipeline.Metrics.DeadLettersTotal > 0 || pipeline.Metrics.DuplicatesTotal > 0)
            {
                throw new InvalidOperationException("The benchmark load produced dead letters or duplicates.");
            }

            await DisconnectAsync(clients);
            return result;
        }
        finally
        {
            await server.StopAsync();
        }
    }

    private static async Task<double> MqttNetBrokerAsync()
    {
        var port = FreePort();
        using var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).Build());
        await server.StartAsync();
        try
        {
            return await BrokerLoadAsync(port);
        }
        finally
        {
            await server.StopAsync();
        }
    }

    private static async Task<double> MosquittoBrokerAsync(string root)
    {
        Directory.CreateDirectory(root);
        var port = FreePort();
        var conf = Path.Combine(root, "mosquitto.conf");
        await File.WriteAllTextAsync(conf, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\n");
        using var mosquitto = Process.Start(new ProcessStartInfo("mosquitto", ["-c", conf]) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException("mosquitto did not start (scripts/setup.sh installs it).");
        try
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(20);
                }
            }

            return await BrokerLoadAsync(port);
        }
        finally
        {
            mosquitto.Kill();
            await mosquitto.WaitForExitAsync();
        }
    }

    /// <summary>The same load for both brokers: 8 publishers, 1 KiB QoS 1 messages, each waiting for its PUBACK, plus one QoS 1 subscriber to all of them.</summary>
    private static async Task<double> BrokerLoadAsync(int port)
    {
        var clients = await ConnectAsync(port, Gateways, i => $"pub-{i}", null);
        var subscriber = (await ConnectAsync(port, 1, _ => "sub", null))[0];
        long received = 0;
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        };
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("bench/+", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var payload = new byte[1024];
        Random.Shared.NextBytes(payload);
        var result = await RunConcurrentlyAsync(Gateways, async i =>
        {
            await clients[i].PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"bench/{i}").WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return 1;
        });
        await DisconnectAsync([.. clients, subscriber]);
        return result;
    }

    private static async Task<IMqttClient[]> ConnectAsync(int port, int count, Func<int, string> id, string? password)
    {
        var clients = new IMqttClient[count];
        for (var i = 0; i < count; i++)
        {
            clients[i] = new MqttClientFactory().CreateMqttClient();
            var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(id(i))
                .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30));
            if (password is not null)
            {
                options = options.WithCredentials(id(i), password);
            }

            await clients[i].ConnectAsync(options.Build());
        }

        return clients;
    }

    private static async Task DisconnectAsync(IEnumerable<IMqttClient> clients)
    {
        foreach (var c in clients)
        {
            await c.DisconnectAsync();
            c.Dispose();
        }
    }

    /// <summary>Runs <paramref name="workers"/> loops of <paramref name="step"/> for a warm-up and then <see cref="Duration"/>; returns units per second.</summary>
    private static async Task<double> RunConcurrentlyAsync(int workers, Func<int, Task<int>> step)
    {
        long units = 0;
        var measuring = false;
        var stop = false;
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            while (!Volatile.Read(ref stop))
            {
                var n = await step(w);
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Add(ref units, n);
                }
            }
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var sw = Stopwatch.StartNew();
        Volatile.Write(ref measuring, true);
        await Task.Delay(Duration);
        Volatile.Write(ref measuring, false);
        var elapsed = sw.Elapsed;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(tasks);
        return Interlocked.Read(ref units) / elapsed.TotalSeconds;
    }

    private static List<LogMessage> SampleMessages(int n)
    {
        var batch = WireSuite.SampleBatch(n);
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        return batch.Reads.Select((r, i) =>
        {
            var len = LogRecordCodec.EncodeRead(batch.GatewayId, batch.Sequence, i, n, r, buffer);
            return new LogMessage(r.Epc.ToArray(), buffer.AsSpan(0, len).ToArray(), r.EventTimeUs);
        }).ToList();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
