using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using static EdgeStream.EventLog.Tests.LogTestData;

namespace EdgeStream.EventLog.Tests;

[Trait("Capability", "Ingest")]
public sealed class The_embedded_event_log : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private EmbeddedLogOptions Options(int partitions = 4, long segmentBytes = 64 * 1024 * 1024) =>
        new() { Directory = _dir.Path, Partitions = partitions, SegmentBytes = segmentBytes, RetentionBytesPerPartition = null };

    [Fact]
    public async Task Append_returns_positions_and_keeps_each_key_in_one_partition_in_order()
    {
        await using var log = EmbeddedEventLog.Open(Options());
        var messages = Enumerable.Range(0, 200).Select(i => Message($"tag-{i % 10}", $"v{i}", 1000 + i)).ToList();
        var positions = await log.AppendAsync(messages);

        Assert.Equal(200, positions.Count);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(LogPartitioner.PartitionFor(messages[i].Key.Span, 4), positions[i].Partition);
        }

        Assert.Equal(200, positions.Distinct().Count());
        using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "g" });
        var records = await ConsumeAsync(consumer, 200);
        Assert.Equal(200, records.Count);
        foreach (var group in records.GroupBy(r => r.Key))
        {
            Assert.Single(group.Select(r => r.Partition).Distinct());
            var values = group.Select(r => int.Parse(r.Value[1..])).ToList();
            Assert.Equal(values.Order(), values);
        }

        Assert.Contains(records, r => r is { Key: "tag-3", Value: "v13", Ts: 1013 });
        for (var p = 0; p < 4; p++)
        {
            var offsets = await log.GetOffsetsAsync(p);
            Assert.Equal(records.Count(r => r.Partition == p), offsets.End);
            Assert.Equal(0, offsets.Start);
        }
    }

    [Fact]
    public async Task Concurrent_appends_share_commits_and_get_unique_contiguous_offsets()
    {
        await using var log = EmbeddedEventLog.Open(Options(partitions: 2));
        var commits = 0;
        log.GroupCommitted += (_, _, _) => Interlocked.Increment(ref commits);
        var tasks = Enumerable.Range(0, 64)
            .Select(t => Task.Run(() => log.AppendAsync(Enumerable.Range(0, 50).Select(i => Message($"k{t}-{i}", "x")).ToList())))
            .ToArray();
        var all = (await Task.WhenAll(tasks)).SelectMany(p => p).ToList();

        Assert.Equal(64 * 50, all.Count);
        foreach (var byPartition in all.GroupBy(p => p.Partition))
        {
            var offsets = byPartition.Select(p => p.Offset).Order().ToList();
            Assert.Equal(Enumerable.Range(0, offsets.Count).Select(i => (long)i), offsets);
        }

        Assert.InRange(commits, 1, 64);
    }

    [Fact]
    public async Task Records_and_committed_offsets_survive_reopening()
    {
        await using (var log = EmbeddedEventLog.Open(Options(partitions: 1)))
        {
            await log.AppendAsync(Enumerable.Range(0, 10).Select(i => Message("k", $"v{i}")).ToList());
            using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "engine" });
            var first = await ConsumeAsync(consumer, 10);
            Assert.Equal("v0", first[0].Value);
            await consumer.CommitAsync([new LogPosition(0, 6)]);
        }

        await using (var log = EmbeddedEventLog.Open(Options(partitions: 1)))
        {
            Assert.Equal(new PartitionOffsets(0, 10), await log.GetOffsetsAsync(0));
            var positions = await log.AppendAsync([Message("k", "v10")]);
            Assert.Equal(new LogPosition(0, 10), positions[0]);
            using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "engine" });
            var resumed = await ConsumeAsync(consumer, 5);
            Assert.Equal(["v6", "v7", "v8", "v9", "v10"], resumed.Select(r => r.Value));
            Assert.Equal(6, await consumer.GetCommittedAsync(0));
        }
    }

    [Fact]
    public async Task Reopening_with_another_partition_count_is_refused_with_the_key_named()
    {
        await (await Task.FromResult(EmbeddedEventLog.Open(Options(partitions: 2)))).DisposeAsync();
        var ex = Assert.Throws<ArgumentException>(() => EmbeddedEventLog.Open(Options(partitions: 3)));
        Assert.Contains("Partitions", ex.Message);
    }

    [Fact]
    public async Task A_log_can_be_open_only_once_at_a_time()
    {
        var first = EmbeddedEventLog.Open(Options());
        var ex = Assert.Throws<EventLogException>(() => EmbeddedEventLog.Open(Options()));
        Assert.Contains("already open", ex.Message);
        await first.DisposeAsync();
        await using var second = EmbeddedEventLog.Open(Options());
        Assert.Equal(4, second.PartitionCount);
    }

    [Fact]
    public void Invalid_options_name_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => EmbeddedEventLog.Open(Options() with { SegmentBytes = 10 }));
        Assert.Contains("SegmentBytes", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => EmbeddedEventLog.Open(Options() with { Name = "../x" }));
        Assert.Contains("Name", ex.Message);
    }

    [Fact]
    public async Task A_torn_tail_at_any_byte_is_cut_back_to_the_last_whole_record()
    {
        string segmentPath;
        long[] recordEnds;
        await using (var log = EmbeddedEventLog.Open(Options(partitions: 1)))
        {
            for (var i = 0; i < 5; i++)
            {
                await log.AppendAsync([Message("k", new string('x', 10 + i))]);
            }

            segmentPath = Directory.GetFiles(Path.Combine(_dir.Path, "edgestream-records", "0000"), "*.log").Single();
        }

        var full = await File.ReadAllBytesAsync(segmentPath);
        recordEnds = Enumerable.Range(0, 5).Select(i => (long)Enumerable.Range(0, i + 1).Sum(j => 8 + 18 + 1 + 10 + j)).ToArray();
        Assert.Equal(recordEnds[^1], full.Length);

        for (var cut = 0; cut <= full.Length; cut += 3)
        {
            await File.WriteAllBytesAsync(segmentPath, full.AsSpan(0, cut).ToArray());
            var whole = recordEnds.Count(e => e <= cut);
            await using var log = EmbeddedEventLog.Open(Options(partitions: 1));
            Assert.Equal(whole, (await log.GetOffsetsAsync(0)).End);
            Assert.Equal(cut - (whole == 0 ? 0 : recordEnds[whole - 1]), log.RecoveredTruncatedBytes);
            var pos = await log.AppendAsync([Message("k", "after")]);
            Assert.Equal(whole, pos[0].Offset);
            using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "g" + cut });
            var records = await ConsumeAsync(consumer, whole + 1);
            Assert.Equal(Enumerable.Range(0, whole + 1).Select(i => (long)i), records.Select(r => r.Offset));
            Assert.Equal("after", records[^1].Value);
        }
    }

    [Fact]
    public async Task Garbage_appended_after_the_last_record_is_cut_on_open()
    {
        await using (var log = EmbeddedEventLog.Open(Options(partitions: 1)))
        {
            await log.AppendAsync([Message("k", "a"), Message("k", "b")]);
        }

        var path = Directory.GetFiles(Path.Combine(_dir.Path, "edgestream-records", "0000"), "*.log").Single();
        await using (var f = new FileStream(path, FileMode.Append))
        {
            f.Write([0x20, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
        }

        await using (var log = EmbeddedEventLog.Open(Options(partitions: 1)))
        {
            Assert.Equal(44, log.RecoveredTruncatedBytes);
            using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "g" });
            Assert.Equal(["a", "b"], (await ConsumeAsync(consumer, 2)).Select(r => r.Value));
        }
    }

    [Fact]
    public async Task Bit_rot_in_a_sealed_segment_is_reported_not_returned()
    {
        await using var log = EmbeddedEventLog.Open(Options(partitions: 1, segmentBytes: 4096));
        for (var i = 0; i < 100; i++)
        {
            await log.AppendAsync([Message("k", new string('v', 100))]);
        }

        var first = Directory.GetFiles(Path.Combine(_dir.Path, "edgestream-records", "0000"), "*.log").Order().First();
        await using (var f = new FileStream(first, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            f.Position = 200;
            var b = f.ReadByte();
            f.Position = 200;
            f.WriteByte((byte)(b ^ 0xFF));
        }

        using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "g" });
        var ex = await Assert.ThrowsAsync<EventLogException>(async () => await ConsumeAsync(consumer, 100));
        Assert.Contains("corrupt", ex.Message);
    }

    [Fact]
    public async Task Segments_roll_and_size_retention_deletes_the_oldest_and_moves_the_start()
    {
        await using var log = EmbeddedEventLog.Open(Options(partitions: 1, segmentBytes: 4096) with { RetentionBytesPerPartition = 3 * 4096 });
        for (var i = 0; i < 300; i++)
        {
            await log.AppendAsync([Message("k", $"{i:D4}" + new string('v', 96))]);
        }

        var dir = Path.Combine(_dir.Path, "edgestream-records", "0000");
        Assert.True(Directory.GetFiles(dir, "*.log").Length > 4);
        Assert.True(log.ApplyRetention() > 0);
        var files = Directory.GetFiles(dir, "*.log");
        Assert.InRange(files.Length, 2, 4);

        var offsets = await log.GetOffsetsAsync(0);
        Assert.Equal(300, offsets.End);
        Assert.True(offsets.Start > 0);
        using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "late" });
        var records = await ConsumeAsync(consumer, (int)(offsets.End - offsets.Start));
        Assert.Equal(offsets.Start, records[0].Offset);
        Assert.Equal($"{offsets.Start:D4}", records[0].Value[..4]);
        Assert.Equal(299, records[^1].Offset);
    }

    [Fact]
    public async Task Time_retention_deletes_sealed_segments_older_than_the_limit_but_never_the_active_one()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var log = EmbeddedEventLog.Open(Options(partitions: 1, segmentBytes: 4096) with { RetentionTime = TimeSpan.FromDays(1) }, clock);
        for (var i = 0; i < 100; i++)
        {
            await log.AppendAsync([Message("k", new string('v', 100))]);
        }

        Assert.Equal(0, log.ApplyRetention());
        clock.Now += TimeSpan.FromDays(2);
        Assert.True(log.ApplyRetention() > 0);
        var offsets = await log.GetOffsetsAsync(0);
        Assert.Equal(100, offsets.End);
        Assert.Single(Directory.GetFiles(Path.Combine(_dir.Path, "edgestream-records", "0000"), "*.log"));
        var pos = await log.AppendAsync([Message("k", "new")]);
        Assert.Equal(100, pos[0].Offset);
    }

    [Fact]
    public async Task A_consumer_sees_records_across_many_segments_and_large_values()
    {
        await using var log = EmbeddedEventLog.Open(Options(partitions: 1, segmentBytes: 8192));
        var big = new string('B', 600_000);
        await log.AppendAsync([Message("k", "small"), Message("k", big), Message("k", "tail")]);
        await log.AppendAsync(Enumerable.Range(0, 500).Select(i => Message("k", $"r{i}")).ToList());
        using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "g", MaxBatchRecords = 7 });
        var records = await ConsumeAsync(consumer, 503);
        Assert.Equal(Enumerable.Range(0, 503).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal(big, records[1].Value);
        Assert.Equal("r499", records[^1].Value);
    }

    [Fact]
    public async Task Seek_rereads_from_an_offset_and_latest_starts_at_the_end()
    {
        await using var log = EmbeddedEventLog.Open(Options(partitions: 1));
        await log.AppendAsync(Enumerable.Range(0, 10).Select(i => Message("k", $"v{i}")).ToList());
        using var latest = log.CreateConsumer(new LogConsumerOptions { GroupId = "tail", StartFrom = OffsetReset.Latest });
        Assert.Empty(await latest.ConsumeAsync(TimeSpan.FromMilliseconds(50)));
        await log.AppendAsync([Message("k", "v10")]);
        Assert.Equal(["v10"], (await ConsumeAsync(latest, 1)).Select(r => r.Value));
        latest.Seek(0, 8);
        Assert.Equal(["v8", "v9", "v10"], (await ConsumeAsync(latest, 3)).Select(r => r.Value));
        Assert.Throws<InvalidOperationException>(() => latest.Seek(5, 0));
    }

    [Fact]
    public async Task Group_members_split_partitions_and_take_over_when_one_leaves()
    {
        await using var log = EmbeddedEventLog.Open(Options(partitions: 4));
        var revokedFromA = new List<int>();
        var a = log.CreateConsumer(new LogConsumerOptions { GroupId = "engine", OnPartitionsRevoked = revokedFromA.AddRange });
        await a.ConsumeAsync(TimeSpan.Zero);
        Assert.Equal([0, 1, 2, 3], a.Assignment);

        using var b = log.CreateConsumer(new LogConsumerOptions { GroupId = "engine" });
        await a.ConsumeAsync(TimeSpan.Zero);
        await b.ConsumeAsync(TimeSpan.Zero);
        Assert.Equal([0, 2], a.Assignment);
        Assert.Equal([1, 3], b.Assignment);
        Assert.Equal([1, 3], revokedFromA);
        await Assert.ThrowsAsync<EventLogException>(() => a.CommitAsync([new LogPosition(1, 0)]));

        var keys = Enumerable.Range(0, 100).Select(i => Message($"tag{i}", $"v{i}")).ToList();
        await log.AppendAsync(keys);
        var fromA = await ConsumeAsync(a, keys.Count(k => LogPartitioner.PartitionFor(k.Key.Span, 4) is 0 or 2));
        Assert.All(fromA, r => Assert.Contains(r.Partition, new[] { 0, 2 }));
        await a.CommitAsync([new LogPosition(0, fromA.Count(r => r.Partition == 0))]);
        a.Dispose();

        var fromB = await ConsumeAsync(b, 100 - fromA.Count(r => r.Partition == 0));
        Assert.Equal([0, 1, 2, 3], b.Assignment);
        Assert.DoesNotContain(fromB, r => r.Partition == 0);
        Assert.Equal(100, fromA.Count(r => r.Partition == 0) + fromB.Count);
    }
}
