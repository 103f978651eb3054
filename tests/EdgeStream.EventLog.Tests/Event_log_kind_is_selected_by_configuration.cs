using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.EventLog.Kafka;

namespace EdgeStream.EventLog.Tests;

[Trait("Capability", "Ingest")]
public sealed class Event_log_kind_is_selected_by_configuration
{
    [Fact]
    public async Task Embedded_and_kafka_open_from_settings_and_bad_settings_name_the_key()
    {
        using var dir = new TempDirectory();
        await using (var embedded = await EventLogSelection.OpenAsync(new EventLogSettings { Embedded = new EmbeddedLogOptions { Directory = dir.Path, Partitions = 3 } }))
        {
            Assert.IsType<EmbeddedEventLog>(embedded);
            Assert.Equal(3, embedded.PartitionCount);
        }

        using var cluster = KafkaMockCluster.Start(1);
        cluster.CreateTopic("selected", 5);
        await using (var kafka = await EventLogSelection.OpenAsync(new EventLogSettings
        {
            Kind = "Kafka",
            Kafka = new KafkaLogOptions { BootstrapServers = cluster.BootstrapServers, Topic = "selected", Partitions = 5, ReplicationFactor = 1 },
        }))
        {
            Assert.IsType<KafkaEventLog>(kafka);
            var positions = await kafka.AppendAsync([new LogMessage("EPC"u8.ToArray(), "v"u8.ToArray(), 1)]);
            Assert.Equal(LogPartitioner.PartitionFor("EPC"u8, 5), positions[0].Partition);
        }

        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => EventLogSelection.OpenAsync(new EventLogSettings { Kind = "pulsar" }));
        Assert.Contains("EventLog:Kind", unknown.Message);
        var missing = await Assert.ThrowsAsync<ArgumentException>(() => EventLogSelection.OpenAsync(new EventLogSettings { Kind = "kafka" }));
        Assert.Contains("EventLog:Kafka", missing.Message);

        // A topic whose partition count differs from the configuration stops start-up: tags would move.
        var mismatch = await Assert.ThrowsAsync<ArgumentException>(() => EventLogSelection.OpenAsync(new EventLogSettings
        {
            Kind = "kafka",
            Kafka = new KafkaLogOptions { BootstrapServers = cluster.BootstrapServers, Topic = "selected", Partitions = 8, ReplicationFactor = 1 },
        }));
        Assert.Contains("Partitions", mismatch.Message);
    }
}
