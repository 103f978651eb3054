using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.Ingest;
using MQTTnet;
using MQTTnet.Formatter;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class External_broker_ingest_acknowledges_after_append_and_resumes_its_session
{
    [Fact]
    public async Task Batches_through_mosquitto_are_appended_once_including_those_queued_while_ingest_was_down_or_failed()
    {
        using var mosquitto = await MosquittoProcess.StartAsync();
        using var dir = new TempDirectory();
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = Path.Combine(dir.Path, "log"), Partitions = 4 });
        var flaky = new FlakyLog(log);
        var pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(dir.Path, "ingest") }, flaky);
        var options = ExternalBrokerOptions.Parse($"mqtt://127.0.0.1:{mosquitto.Port}") with { ClientId = "cloud-ingest-test" };

        using var gateway = new MqttClientFactory().CreateMqttClient();
        await gateway.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mosquitto.Port).WithClientId("gw-dock")
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build());

        async Task<long> EndAsync()
        {
            long total = 0;
            for (var p = 0; p < 4; p++)
            {
                total += (await log.GetOffsetsAsync(p)).End;
            }

            return total;
        }

        // 1. Live: batches published by a gateway are appended, then acknowledged.
        var ingest = new ExternalBrokerIngest(options, pipeline);
        await ingest.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        for (ulong seq = 1; seq <= 5; seq++)
        {
            await gateway.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-dock", seq, 10)));
        }

        await Eventually.TrueAsync(async () => await EndAsync() == 50, TimeSpan.FromSeconds(30), "5 batches in the log");
        await Eventually.TrueAsync(() => Task.FromResult(ingest.Acknowledged == 5), TimeSpan.FromSeconds(30), "5 acknowledgements");

        // 2. Ingest is down: the broker keeps the messages in ingest's persistent session.
        await ingest.DisposeAsync();
        for (ulong seq = 6; seq <= 10; seq++)
        {
            await gateway.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-dock", seq, 10)));
        }

        // 3. Back up, with the first append failing: that message is not acknowledged, the connection is
        // dropped, the broker redelivers, and every batch ends up in the log exactly once.
        flaky.FailNext = true;
        await using var again = new ExternalBrokerIngest(options, pipeline);
        await again.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        await Eventually.TrueAsync(
            async () => await EndAsync() == 100 && Enumerable.Range(1, 10).All(s => pipeline.HasSeen("gw-dock", (ulong)s)), TimeSpan.FromSeconds(30), "the queued batches to be appended and marked as seen");
        Assert.True(flaky.Failed);

        // 4. A gateway resending an acknowledged batch (its outbox did not record the PUBACK) is dropped.
        var duplicatesBefore = pipeline.Metrics.DuplicatesTotal;
        await gateway.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-dock", 3, 10)));
        await Eventually.TrueAsync(() => Task.FromResult(pipeline.Metrics.DuplicatesTotal > duplicatesBefore), TimeSpan.FromSeconds(30), "the duplicate to be counted");
        Assert.Equal(100, await EndAsync());

        await again.StopAsync();
        pipeline.Dispose();
    }

    private sealed class FlakyLog(IEventLog inner) : IEventLog
    {
        public volatile bool FailNext;

        public volatile bool Failed;

        public string Name => inner.Name;

        public int PartitionCount => inner.PartitionCount;

        public Task<IReadOnlyList<LogPosition>> AppendAsync(IReadOnlyList<LogMessage> messages, CancellationToken cancellationToken = default)
        {
            if (FailNext)
            {
                FailNext = false;
                Failed = true;
                throw new EventLogException("simulated disk failure");
            }

            return inner.AppendAsync(messages, cancellationToken);
        }

        public Task<PartitionOffsets> GetOffsetsAsync(int partition, CancellationToken cancellationToken = default) => inner.GetOffsetsAsync(partition, cancellationToken);

        public IEventLogConsumer CreateConsumer(LogConsumerOptions options) => inner.CreateConsumer(options);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
