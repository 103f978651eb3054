using EdgeStream.Contracts;
using EdgeStream.Outbox.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using static EdgeStream.Outbox.Tests.OutboxTestKit;

namespace EdgeStream.Outbox.Tests;

/// <summary>
/// The outbox's LiteDB index is checkpointed often enough that its write-ahead log, and with it LiteDB's
/// page cache (every log page stays cached until the checkpoint), stays small however long the daemon runs.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_outbox_index_in_memory : IDisposable
{
    private readonly TempDirectory _dir = new("es-index-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_index_log_stays_within_the_checkpoint_after_hundreds_of_group_commits()
    {
        const int PageBytes = 8192;
        long largestLog = 0;
        await using (var outbox = global::EdgeStream.Outbox.Outbox.Open(SmallOptions(), new FileOutboxStorage(_dir.Path), NullLogger.Instance))
        {
            ulong acked = 0;
            for (var i = 0; i < 400; i++)
            {
                // One group commit per round (one LiteDB transaction adding a batch), then the broker's
                // acknowledgement of what is waiting (removed in the next transaction).
                await outbox.AppendReadsAsync(Reads(i * 10L, 10), CancellationToken.None);
                await outbox.FlushAsync(CancellationToken.None);
                while (outbox.TryGetNext(DataClass.Reads, acked, ulong.MaxValue, out var batch))
                {
                    outbox.Acknowledge(DataClass.Reads, batch.Sequence);
                    acked = batch.Sequence;
                }

                largestLog = Math.Max(largestLog, new FileInfo(Path.Combine(_dir.Path, "index-log.db")).Length);
            }

            Assert.Equal(400 * 10, outbox.AcceptedReads);
        }

        // The index checkpoints every 50 pages; at LiteDB's default (1,000 pages) this log grows to thousands of KB.
        Assert.InRange(largestLog, 1, 100 * PageBytes);
    }
}
