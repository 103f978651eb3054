using EdgeStream.EventLog;

namespace EdgeStream.EventLog.Kafka.Tests;

[Trait("Capability", "Ingest")]
public sealed class Kafka_log_keeps_tags_in_order_and_a_group_resumes_from_its_commit
{
    [Fact]
    public async Task Appends_land_in_the_murmur2_partition_of_their_key_and_a_new_member_resumes_after_the_commit()
    {
        await using var h = await KafkaHarness.StartAsync(partitions: 4);
        var messages = Enumerable.Range(0, 120).Select(i => KafkaHarness.Message($"EPC-{i % 12:D3}", $"v{i}", 1_764_000_000_000_000 + (i * 1000))).ToList();
        var positions = await h.Log.AppendAsync(messages);

        Assert.Equal(120, positions.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            // Kafka and the embedded log agree on where a tag lives.
            Assert.Equal(LogPartitioner.PartitionFor(messages[i].Key.Span, 4), positions[i].Partition);
        }

        var ends = 0L;
        for (var p = 0; p < 4; p++)
        {
            ends += (await h.Log.GetOffsetsAsync(p)).End;
        }

        Assert.Equal(120, ends);

        List<(int Partition, long Offset, string Key, string Value)> first;
        using (var consumer = h.Log.CreateConsumer(new LogConsumerOptions { GroupId = "stream-service" }))
        {
            first = await KafkaHarness.ConsumeAsync(consumer, 120);
            foreach (var byKey in first.GroupBy(r => r.Key))
            {
                var values = byKey.Select(r => int.Parse(r.Value[1..])).ToList();
                Assert.Equal(values.Order(), values);
            }

            // Commit everything but the last 3 records of partition 0.
            var commits = first.GroupBy(r => r.Partition)
                .Select(g => new LogPosition(g.Key, g.Key == 0 ? g.Max(r => r.Offset) - 2 : g.Max(r => r.Offset) + 1))
                .ToList();
            await consumer.CommitAsync(commits);
            Assert.Equal(commits.Single(c => c.Partition == 0).Offset, await consumer.GetCommittedAsync(0));
        }

        await h.Log.AppendAsync([KafkaHarness.Message("EPC-new", "after")]);
        using var resumed = h.Log.CreateConsumer(new LogConsumerOptions { GroupId = "stream-service" });
        var rest = await KafkaHarness.ConsumeAsync(resumed, 4);
        Assert.Equal(3, rest.Count(r => r.Partition == 0 && r.Value != "after"));
        Assert.Contains(rest, r => r.Value == "after");
        Assert.Empty(await resumed.ConsumeAsync(TimeSpan.FromMilliseconds(500)));
    }
}
