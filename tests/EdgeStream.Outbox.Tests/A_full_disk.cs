using EdgeStream.Contracts;
using Microsoft.Extensions.Logging;
using static EdgeStream.Outbox.Tests.OutboxTestKit;

namespace EdgeStream.Outbox.Tests;

/// <summary>
/// A full disk: the writes that do not fit are refused with a clear error (and counted), the writer
/// keeps running, everything accepted before stays, and writing resumes once there is space.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class A_full_disk
{
    [Fact]
    public async Task A_full_disk_refuses_new_reads_with_a_clear_error_keeps_running_and_loses_nothing_accepted()
    {
        var disk = new SimulatedDisk { QuotaBytes = 400 * 1024 };
        var log = new ListLogger();
        var accepted = new List<long>();
        long next = 0;
        var options = SmallOptions();
        await using (var outbox = global::EdgeStream.Outbox.Outbox.Open(options, disk, log))
        {
            IOException? refused = null;
            for (var i = 0; i < 1000 && refused is null; i++)
            {
                var reads = Reads(next, 200);
                next += 200;
                await outbox.AppendReadsAsync(reads, default);
                try
                {
                    await outbox.FlushAsync(default);
                    accepted.AddRange(reads.Select(IdOf));
                }
                catch (IOException ex)
                {
                    refused = ex;
                }
            }

            Assert.NotNull(refused);
            Assert.Contains("No space left on device", refused.Message, StringComparison.Ordinal);
            Assert.True(outbox.IsRunning, "the writer must keep running");
            Assert.Contains("No space left on device", outbox.LastError, StringComparison.Ordinal);
            Assert.True(outbox.DroppedReads >= 200, "refused reads are counted");
            Assert.True(log.Contains(LogLevel.Error, "not accepted"), "and logged");
            Assert.True(accepted.Count > 1000, "the disk held a good number of reads first");

            // Space comes back (the uplink drained, an operator cleaned up): writing resumes.
            disk.QuotaBytes = null;
            var after = Reads(next, 50);
            await outbox.AppendReadsAsync(after, default);
            await outbox.FlushAsync(default);
            accepted.AddRange(after.Select(IdOf));
            Assert.Null(outbox.LastError);
        }

        await using var reopened = global::EdgeStream.Outbox.Outbox.Open(options, disk, log);
        var waiting = Pending(reopened, DataClass.Reads).SelectMany(b => b.Reads).Select(IdOf).ToHashSet();
        Assert.All(accepted, id => Assert.Contains(id, waiting));
    }

    [Fact]
    public async Task The_outbox_opens_on_a_full_disk_and_serves_what_it_holds()
    {
        var disk = new SimulatedDisk();
        var options = SmallOptions();
        await using (var outbox = global::EdgeStream.Outbox.Outbox.Open(options, disk, new ListLogger()))
        {
            await outbox.AppendReadsAsync(Reads(0, 1000), default);
            await outbox.FlushAsync(default);
        }

        // Not one more byte fits.
        disk.QuotaBytes = disk.UsedBytes;
        var log = new ListLogger();
        await using var reopened = global::EdgeStream.Outbox.Outbox.Open(options, disk, log);
        var ids = Pending(reopened, DataClass.Reads).SelectMany(b => b.Reads).Select(IdOf).ToList();
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), ids);
        Assert.True(reopened.IsRunning);
    }
}
