using EdgeStream.Contracts;
using EdgeStream.Outbox;
using EdgeStream.Outbox.Storage;
using Microsoft.Extensions.Logging;
using static EdgeStream.Outbox.Tests.OutboxTestKit;

namespace EdgeStream.Outbox.Tests;

[Trait("Capability", "StoreAndForward")]
public sealed class The_outbox : IDisposable
{
    private readonly TempDirectory _dir = new("es-outbox-");
    private readonly ListLogger _log = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Reads_are_stored_in_batches_on_disk_and_survive_a_reopen()
    {
        var options = SmallOptions(o => o with { Reads = new DataClassOptions { MaxBatchRecords = 2000 } });
        await using (var outbox = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log))
        {
            for (var i = 0; i < 100; i++)
            {
                await outbox.AppendReadsAsync(Reads(i * 50, 50), default);
            }

            await outbox.FlushAsync(default);
            Assert.Equal(5000, outbox.AcceptedReads);
            Assert.Equal(5000, outbox.BufferedReads);

            // Not one document per read: a few thousand reads make a handful of batches.
            Assert.InRange(outbox.BufferedBatches, 3, 6);
        }

        await using (var reopened = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log))
        {
            var batches = Pending(reopened, DataClass.Reads);
            var ids = batches.SelectMany(b => b.Reads).Select(IdOf).ToList();
            Assert.Equal(Enumerable.Range(0, 5000).Select(i => (long)i), ids);
            Assert.All(batches, b => Assert.Equal(Gateway, b.GatewayId));
            Assert.Equal(Reads(0, 1)[0], batches[0].Reads[0]);
        }
    }

    [Fact]
    public async Task Appended_reads_are_committed_by_the_group_commit_without_an_explicit_flush()
    {
        await using var outbox = global::EdgeStream.Outbox.Outbox.Open(SmallOptions(), new FileOutboxStorage(_dir.Path), _log);
        await outbox.AppendReadsAsync(Reads(0, 7), default);
        await outbox.AppendReadsAsync(Reads(7, 5), default);
        await WaitUntil(() => outbox.AcceptedReads == 12, "12 reads accepted by the group commit");
        var batches = Pending(outbox, DataClass.Reads);
        Assert.Equal(12, batches.Sum(b => b.Count));
    }

    [Fact]
    public async Task Sequences_increase_across_classes_and_are_never_reused_after_everything_was_released()
    {
        var options = SmallOptions();
        ulong highest;
        await using (var outbox = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log))
        {
            await outbox.AppendReadsAsync(Reads(0, 450), default);
            await outbox.AppendEventsAsync(new[] { Event(1), Event(2) }, default);
            await outbox.FlushAsync(default);
            var reads = Pending(outbox, DataClass.Reads);
            var events = Pending(outbox, DataClass.Presence);
            var all = reads.Concat(events).Select(b => b.Sequence).Order().ToList();
            Assert.Equal(all.Count, all.Distinct().Count());
            Assert.Equal(1UL, all[0]);
            highest = all[^1];
            foreach (var b in reads)
            {
                outbox.Acknowledge(DataClass.Reads, b.Sequence);
            }

            foreach (var b in events)
            {
                outbox.Acknowledge(DataClass.Presence, b.Sequence);
            }

            Assert.Equal(0, outbox.BufferedBatches);
            await outbox.FlushAsync(default);
        }

        await using (var reopened = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log))
        {
            Assert.Equal(0, reopened.BufferedBatches);
            await reopened.AppendReadsAsync(Reads(1000, 3), default);
            await reopened.FlushAsync(default);
            var next = Pending(reopened, DataClass.Reads).Single();
            Assert.True(next.Sequence > highest, $"sequence {next.Sequence} must be above {highest}");
        }
    }

    [Fact]
    public async Task Acknowledged_batches_leave_the_outbox_and_do_not_come_back_after_a_reopen()
    {
        var options = SmallOptions();
        await using (var outbox = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log))
        {
            await outbox.AppendReadsAsync(Reads(0, 1000), default);
            await outbox.FlushAsync(default);
            var batches = Pending(outbox, DataClass.Reads);
            Assert.Equal(5, batches.Count);
            outbox.Acknowledge(DataClass.Reads, batches[0].Sequence);
            outbox.Acknowledge(DataClass.Reads, batches[2].Sequence);
            Assert.Equal(600, outbox.BufferedReads);
            Assert.Equal(2, outbox.AckedBatches);
        }

        await using (var reopened = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log))
        {
            var ids = Pending(reopened, DataClass.Reads).SelectMany(b => b.Reads).Select(IdOf).ToHashSet();
            Assert.Equal(600, ids.Count);
            Assert.DoesNotContain(0L, ids);
            Assert.DoesNotContain(450L, ids);
            Assert.Contains(250L, ids);
        }
    }

    [Fact]
    public async Task Raw_reads_are_dropped_oldest_first_before_presence_events_when_over_the_byte_limit()
    {
        var options = SmallOptions(o => o with { MaxBytes = 4 * 64 * 1024 });
        var metricsMeter = new System.Diagnostics.Metrics.Meter("test.outbox." + Guid.NewGuid());
        await using var outbox = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log, new OutboxMetrics(metricsMeter));
        var events = Enumerable.Range(0, 200).Select(i => Event(i)).ToArray();
        await outbox.AppendEventsAsync(events, default);
        await outbox.FlushAsync(default);

        const int total = 40_000; // ~25 bytes a read: several times the 256 KiB limit
        for (var i = 0; i < total; i += 500)
        {
            await outbox.AppendReadsAsync(Reads(i, 500), default);
            await outbox.FlushAsync(default);
        }

        await WaitUntil(() => outbox.BufferBytes <= options.MaxBytes, "the outbox back under its byte limit");
        Assert.Equal(total, outbox.AcceptedReads);
        Assert.Equal(0, outbox.DroppedEvents);
        Assert.Equal(200, Pending(outbox, DataClass.Presence).Sum(b => b.Count));

        var kept = Pending(outbox, DataClass.Reads).SelectMany(b => b.Reads).Select(IdOf).ToList();
        Assert.Equal(total, kept.Count + outbox.DroppedReads);
        Assert.True(outbox.DroppedReads > 0);

        // Oldest first: what is left is the newest, contiguous tail.
        Assert.Equal(Enumerable.Range(total - kept.Count, kept.Count).Select(i => (long)i), kept);
        Assert.True(_log.Contains(LogLevel.Warning, "dropped"), "the drop must be logged");
    }

    [Fact]
    public async Task Batches_older_than_the_age_limit_are_dropped_counted_and_logged()
    {
        var clock = new ManualClock();
        var options = SmallOptions(o => o with { MaxAge = TimeSpan.FromHours(1) });
        await using var outbox = global::EdgeStream.Outbox.Outbox.Open(options, new FileOutboxStorage(_dir.Path), _log, null, clock);
        await outbox.AppendReadsAsync(Reads(0, 300), default);
        await outbox.FlushAsync(default);
        clock.Advance(TimeSpan.FromHours(2));
        await outbox.AppendEventsAsync(new[] { Event(1) }, default);
        await outbox.FlushAsync(default);

        await WaitUntil(() => outbox.DroppedReads == 300, "the aged reads dropped");
        Assert.Equal(0, outbox.BufferedReads);
        Assert.Equal(1, outbox.BufferedEvents);
        Assert.True(_log.Contains(LogLevel.Warning, "outbox-max-age"));
    }

    [Theory]
    [InlineData("gateway-id")]
    [InlineData("outbox-max-bytes")]
    [InlineData("outbox-commit-interval")]
    [InlineData("outbox-reads-batch-records")]
    public void Options_out_of_range_stop_the_start_with_the_key_named(string key)
    {
        var good = SmallOptions();
        var bad = key switch
        {
            "gateway-id" => good with { GatewayId = "bad id/with slash" },
            "outbox-max-bytes" => good with { MaxBytes = good.SegmentBytes },
            "outbox-commit-interval" => good with { CommitInterval = TimeSpan.Zero },
            _ => good with { Reads = new DataClassOptions { MaxBatchRecords = 0 } },
        };
        var ex = Assert.Throws<OptionsException>(() => global::EdgeStream.Outbox.Outbox.Open(bad, new FileOutboxStorage(_dir.Path), _log));
        Assert.Equal(key, ex.Key);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }
}
