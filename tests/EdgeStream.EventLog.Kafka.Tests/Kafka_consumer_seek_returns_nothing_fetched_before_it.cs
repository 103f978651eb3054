using EdgeStream.EventLog;

namespace EdgeStream.EventLog.Kafka.Tests;

[Trait("Capability", "Ingest")]
public sealed class Kafka_consumer_seek_returns_nothing_fetched_before_it
{
    /// <summary>
    /// A seek while the consumer's fetch thread holds records already fetched (runs of up to 256 ahead of the
    /// reader): the next record returned for the partition is the one sought, and the rest follow in order,
    /// never a record fetched before the seek. Repeated at random points, forwards and backwards.
    /// </summary>
    [Fact]
    public async Task After_each_seek_records_continue_from_the_offset_sought()
    {
        await using var h = await KafkaHarness.StartAsync(partitions: 1);
        const int total = 3_000;
        await h.Log.AppendAsync(Enumerable.Range(0, total).Select(i => KafkaHarness.Message("EPC-1", $"v{i}")).ToList());

        using var consumer = h.Log.CreateConsumer(new LogConsumerOptions { GroupId = "seeker", MaxBatchRecords = 17 });
        var rng = new Random(7);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var expected = 0L;
        var seeks = 0;
        var read = 0;
        while (seeks < 20)
        {
            var batch = await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), cts.Token);
            foreach (var r in batch)
            {
                Assert.Equal(0, r.Partition);
                Assert.True(expected == r.Offset, $"after {seeks} seeks, expected offset {expected}, got {r.Offset}");
                Assert.Equal($"v{r.Offset}", System.Text.Encoding.UTF8.GetString(r.Value.Span));
                expected++;
                read++;
            }

            if (batch.Count > 0 && rng.Next(3) == 0)
            {
                // Anywhere in the topic: back over what was read, or ahead past what was fetched.
                expected = rng.Next(total - 100);
                consumer.Seek(0, expected);
                seeks++;
            }

            if (expected >= total)
            {
                expected = rng.Next(total / 2);
                consumer.Seek(0, expected);
                seeks++;
            }
        }

        Assert.True(read > 200, $"read {read} records over {seeks} seeks");
    }
}
