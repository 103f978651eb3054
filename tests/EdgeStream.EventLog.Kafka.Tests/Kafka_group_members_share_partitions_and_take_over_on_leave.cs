using EdgeStream.EventLog;

namespace EdgeStream.EventLog.Kafka.Tests;

[Trait("Capability", "Ingest")]
public sealed class Kafka_group_members_share_partitions_and_take_over_on_leave
{
    [Fact]
    public async Task Two_members_split_the_partitions_and_the_survivor_gets_all_after_one_leaves()
    {
        await using var h = await KafkaHarness.StartAsync(partitions: 4);
        var assignedToB = new List<int>();
        var revokedFromA = new List<int>();
        using var a = h.Log.CreateConsumer(new LogConsumerOptions { GroupId = "engine", OnPartitionsRevoked = p => { lock (revokedFromA) { revokedFromA.AddRange(p); } } });
        await PollUntilAsync([a], () => a.Assignment.Count == 4, "the first member to own all 4 partitions");

        var b = h.Log.CreateConsumer(new LogConsumerOptions { GroupId = "engine", OnPartitionsAssigned = p => { lock (assignedToB) { assignedToB.AddRange(p); } } });
        await PollUntilAsync([a, b], () => a.Assignment.Count > 0 && b.Assignment.Count > 0 && a.Assignment.Count + b.Assignment.Count == 4,
            "the group to split the partitions between two members");
        Assert.Empty(a.Assignment.Intersect(b.Assignment));
        lock (revokedFromA)
        {
            Assert.Equal(b.Assignment.Order(), revokedFromA.Order());
        }

        // Records go to whichever member owns their partition.
        await h.Log.AppendAsync(Enumerable.Range(0, 80).Select(i => KafkaHarness.Message($"tag-{i}", $"v{i}")).ToList());
        var seenA = new List<LogRecord>();
        var seenB = new List<LogRecord>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (seenA.Count + seenB.Count < 80)
        {
            seenA.AddRange(await a.ConsumeAsync(TimeSpan.FromMilliseconds(100), cts.Token));
            seenB.AddRange(await b.ConsumeAsync(TimeSpan.FromMilliseconds(100), cts.Token));
        }

        Assert.All(seenA, r => Assert.Contains(r.Partition, a.Assignment));
        Assert.All(seenB, r => Assert.Contains(r.Partition, b.Assignment));

        b.Dispose();
        await PollUntilAsync([a], () => a.Assignment.Count == 4, "the survivor to take over every partition");
        lock (assignedToB)
        {
            Assert.NotEmpty(assignedToB);
        }
    }

    private static async Task PollUntilAsync(IEventLogConsumer[] members, Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            foreach (var m in members)
            {
                await m.ConsumeAsync(TimeSpan.FromMilliseconds(50));
            }
        }
    }
}
