using System.Text;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Kafka;

namespace EdgeStream.EventLog.Kafka.Tests;

/// <summary>A librdkafka mock cluster with one topic, and helpers to read from it.</summary>
internal sealed class KafkaHarness : IAsyncDisposable
{
    private KafkaHarness(KafkaMockCluster cluster, KafkaEventLog log)
    {
        Cluster = cluster;
        Log = log;
    }

    public KafkaMockCluster Cluster { get; }

    public KafkaEventLog Log { get; }

    public static async Task<KafkaHarness> StartAsync(int partitions = 4, string topic = "edgestream-records")
    {
        var cluster = KafkaMockCluster.Start(brokers: 3);
        cluster.CreateTopic(topic, partitions, replicationFactor: 3);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(50));
        var log = await KafkaEventLog.OpenAsync(new KafkaLogOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            Topic = topic,
            Partitions = partitions,
            ReplicationFactor = 3,
            SessionTimeoutMs = 2000,
            LingerMs = 1,
        });
        return new KafkaHarness(cluster, log);
    }

    public static LogMessage Message(string key, string value, long ts = 1_764_000_000_000_000) =>
        new(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), ts);

    public static async Task<List<(int Partition, long Offset, string Key, string Value)>> ConsumeAsync(IEventLogConsumer consumer, int count)
    {
        var result = new List<(int, long, string, string)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (result.Count < count)
        {
            foreach (var r in await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), cts.Token))
            {
                result.Add((r.Partition, r.Offset, Encoding.UTF8.GetString(r.Key.Span), Encoding.UTF8.GetString(r.Value.Span)));
            }
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync();
        Cluster.Dispose();
    }
}
