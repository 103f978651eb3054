using System.Buffers;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;
using EdgeStream.Ingest;

using EdgeStream.EventLog.Kafka.Tests;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Ingest_into_kafka_appends_each_batch_once_across_restarts
{
    private const string Gw = "gw-kafka";

    [Fact]
    public async Task Batches_go_to_kafka_keyed_by_epc_and_a_restart_recovers_marks_from_the_topic_tail()
    {
        await using var h = await KafkaHarness.StartAsync(partitions: 4, topic: "ingest-kafka");
        using var dir = new TempDirectory();
        var options = new IngestOptions { StateDirectory = dir.Path };
        var topic = Topics.For(Gw, TopicKind.Reads);

        using (var pipeline = await IngestPipeline.OpenAsync(options, h.Log))
        {
            for (ulong seq = 1; seq <= 3; seq++)
            {
                Assert.Equal(IngestOutcome.Appended, await pipeline.HandleAsync(Gw, topic, Bytes(TestBatches.Reads(Gw, seq, 20)), default));
            }

            Assert.Equal(IngestOutcome.Duplicate, await pipeline.HandleAsync(Gw, topic, Bytes(TestBatches.Reads(Gw, 2, 20)), default));
        }

        // Batch 4 reaches Kafka but the process dies before its dedupe mark: simulated by appending its
        // records directly, as the pipeline would have.
        var lost = TestBatches.Reads(Gw, 4, 20);
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        await h.Log.AppendAsync(lost.Reads.Select((r, i) =>
            new LogMessage(r.Epc.ToArray(), buffer.AsSpan(0, LogRecordCodec.EncodeRead(Gw, 4, i, 20, r, buffer)).ToArray(), r.EventTimeUs)).ToList());

        using (var restarted = await IngestPipeline.OpenAsync(options, h.Log))
        {
            Assert.Equal(1, restarted.RecoveredBatches);
            Assert.Equal(IngestOutcome.Duplicate, await restarted.HandleAsync(Gw, topic, Bytes(lost), default));
            Assert.Equal(IngestOutcome.Duplicate, await restarted.HandleAsync(Gw, topic, Bytes(TestBatches.Reads(Gw, 1, 20)), default));
            Assert.Equal(IngestOutcome.Appended, await restarted.HandleAsync(Gw, topic, Bytes(TestBatches.Reads(Gw, 5, 20)), default));
        }

        using var consumer = h.Log.CreateConsumer(new LogConsumerOptions { GroupId = "verify" });
        var seen = new Dictionary<(ulong, int), int>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (seen.Count < 100)
        {
            foreach (var r in await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), cts.Token))
            {
                var e = LogRecordCodec.Decode(r.Value.Span);
                Assert.Equal(e.Read.Epc.ToArray(), r.Key.ToArray());
                Assert.Equal(LogPartitioner.PartitionFor(r.Key.Span, 4), r.Partition);
                seen[(e.Sequence, e.Index)] = seen.GetValueOrDefault((e.Sequence, e.Index)) + 1;
            }
        }

        Assert.Empty(await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(500)));
        Assert.All(seen.Values, n => Assert.Equal(1, n));
    }

    private static ReadOnlySequence<byte> Bytes(Batch batch) => new(BatchCodec.Encode(batch));
}
