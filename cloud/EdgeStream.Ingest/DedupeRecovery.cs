using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;

namespace EdgeStream.Ingest;

/// <summary>
/// Closes the one window in which a batch could be appended twice: appended to the log, then the
/// process died before the batch's dedupe mark was durable, so the gateway sends it again. At open,
/// the tail of each partition is read back and every batch found complete there (all of its
/// records, by the batch count each record carries) is marked as seen. Only the tail is read: a mark
/// lags its append by one fsync, so unmarked batches can only be among the newest records.
/// A batch found incomplete (the crash cut its append between partitions) is left unmarked and its
/// present records are reported, so its redelivery appends only the missing ones: no loss, and no
/// record twice. The same pass hands back each gateway's newest clock correction in the tail, so that
/// a restarted cloud goes on correcting a skewed gateway before it has measured it again.
/// </summary>
internal static class DedupeRecovery
{
    public static async Task<int> RunAsync(
        IEventLog log, DedupeStore dedupe, int window, TimeSpan timeout,
        Dictionary<(string Gateway, ulong Sequence), HashSet<int>> partial, CancellationToken cancellationToken,
        Dictionary<string, (long IngestUs, long OffsetUs)>? corrections = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var n = log.PartitionCount;
        var from = new long[n];
        var end = new long[n];
        var remaining = new HashSet<int>();
        for (var p = 0; p < n; p++)
        {
            var offsets = await log.GetOffsetsAsync(p, cts.Token);
            end[p] = offsets.End;
            from[p] = Math.Max(offsets.Start, offsets.End - window);
            if (from[p] < end[p])
            {
                remaining.Add(p);
            }
        }

        if (remaining.Count == 0)
        {
            return 0;
        }

        try
        {
            // A group of its own, never committed: it must not share partitions with anything else.
            using var consumer = log.CreateConsumer(new LogConsumerOptions
            {
                GroupId = "edgestream-ingest-recovery-" + Guid.NewGuid().ToString("N"),
                StartOffsetFor = p => from[p],
            });

            var batches = new Dictionary<(string Gateway, ulong Sequence), (int Count, HashSet<int> Seen)>();
            while (remaining.Count > 0)
            {
                foreach (var r in await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), cts.Token))
                {
                    if (r.Offset < from[r.Partition] || r.Offset >= end[r.Partition])
                    {
                        continue;
                    }

                    if (r.Offset == end[r.Partition] - 1)
                    {
                        remaining.Remove(r.Partition);
                    }

                    LogEntry entry;
                    try
                    {
                        entry = LogRecordCodec.Decode(r.Value.Span);
                    }
                    catch (WireFormatException)
                    {
                        continue;
                    }

                    if (entry.Class == DataClass.Mark)
                    {
                        continue; // not a batch's record
                    }

                    if (corrections is not null && entry.IngestTimeUs > 0
                        && (!corrections.TryGetValue(entry.GatewayId, out var c) || entry.IngestTimeUs > c.IngestUs))
                    {
                        corrections[entry.GatewayId] = (entry.IngestTimeUs, entry.ClockOffsetUs);
                    }

                    var key = (entry.GatewayId, entry.Sequence);
                    if (!batches.TryGetValue(key, out var b))
                    {
                        b = (entry.BatchCount, []);
                        batches[key] = b;
                    }

                    b.Seen.Add(entry.Index);
                }
            }

            var recovered = 0;
            foreach (var ((gateway, sequence), (count, seen)) in batches)
            {
                if (dedupe.IsSeen(gateway, sequence))
                {
                    continue;
                }

                if (seen.Count >= count)
                {
                    dedupe.MarkRecovered(gateway, sequence);
                    recovered++;
                }
                else
                {
                    partial[(gateway, sequence)] = seen;
                }
            }

            return recovered;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EventLogException($"Reading the log tail to recover dedupe marks took longer than IngestOptions.DedupeRecoveryTimeout ({timeout}).");
        }
    }
}
