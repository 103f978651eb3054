using EdgeStream.Contracts;
using EdgeStream.Outbox;
using static EdgeStream.Outbox.Tests.OutboxTestKit;

namespace EdgeStream.Outbox.Tests;

/// <summary>
/// Power cuts under the outbox and under LiteDB: at hundreds of random crash points every write not
/// yet synced is thrown away, the outbox is reopened, and nothing that was accepted (its flush
/// completed) and not yet acknowledged by the broker may be missing; every waiting batch must read
/// back intact, and no sequence may be handed out twice.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class A_power_cut
{
    [Theory]
    [InlineData(1, 160, false)]
    [InlineData(2, 160, true)]
    public async Task Nothing_accepted_is_lost_and_nothing_is_corrupt_across_hundreds_of_power_cuts(int seed, int crashPoints, bool tornWrites)
    {
        var rng = new Random(seed);
        var failures = new List<string>();
        for (var point = 0; point < crashPoints; point++)
        {
            var disk = new SimulatedDisk();
            var model = new Model();
            for (var generation = 0; generation < 3; generation++)
            {
                disk.ArmCrash(rng.Next(1, 400));
                await RunUntilPowerFails(disk, model, rng);
                disk.PowerCut(tornWrites ? rng : null);
                var problem = await Verify(disk, model);
                if (problem is not null)
                {
                    failures.Add($"crash point {point}, generation {generation}: {problem}");
                    break;
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(10)));
    }

    private static OutboxOptions Options() => SmallOptions(o => o with
    {
        CommitInterval = TimeSpan.FromMilliseconds(5),
        Reads = new DataClassOptions { MaxBatchRecords = 100 },
        Presence = new DataClassOptions { MaxBatchRecords = 10, DropOrder = 1 },
    });

    /// <summary>Appends, flushes and acknowledges at random until the disk loses power.</summary>
    private static async Task RunUntilPowerFails(SimulatedDisk disk, Model model, Random rng)
    {
        global::EdgeStream.Outbox.Outbox outbox;
        try
        {
            outbox = global::EdgeStream.Outbox.Outbox.Open(Options(), disk, new ListLogger());
        }
        catch (IOException) when (disk.PoweredOff)
        {
            return;
        }

        try
        {
            Assert.True(outbox.LastSequence + 1 > model.HighestSequence, $"next sequence {outbox.LastSequence + 1} reuses one handed out before ({model.HighestSequence})");
            while (!disk.PoweredOff)
            {
                var n = rng.Next(1, 250);
                var reads = Reads(model.NextId, n);
                model.NextId += n;
                await outbox.AppendReadsAsync(reads, default);
                if (rng.Next(4) == 0)
                {
                    await outbox.AppendEventsAsync(new[] { Event(model.NextId++) }, default);
                }

                try
                {
                    await outbox.FlushAsync(default);
                }
                catch (IOException)
                {
                    // Not accepted: the power went during this commit.
                    continue;
                }

                // The flush completed: everything appended so far that the outbox took is accepted.
                foreach (var r in reads)
                {
                    model.Accepted.Add(IdOf(r));
                }

                // The uplink: the broker acknowledges the oldest waiting batch now and then.
                if (rng.Next(3) == 0 && outbox.TryGetNext(DataClass.Reads, 0, ulong.MaxValue, out var oldest))
                {
                    var payload = outbox.ReadPayload(oldest);
                    if (payload is not null)
                    {
                        foreach (var r in EdgeStream.Contracts.Wire.BatchCodec.Decode(payload).Reads)
                        {
                            model.Delivered.Add(IdOf(r));
                        }

                        outbox.Acknowledge(DataClass.Reads, oldest.Sequence);
                    }
                }

                model.HighestSequence = Math.Max(model.HighestSequence, outbox.LastSequence);
            }
        }
        finally
        {
            try
            {
                await outbox.DisposeAsync();
            }
            catch (Exception)
            {
                // Closing files on a disk without power fails; that is the point.
            }
        }
    }

    private static async Task<string?> Verify(SimulatedDisk disk, Model model)
    {
        var log = new ListLogger();
        await using var outbox = global::EdgeStream.Outbox.Outbox.Open(Options(), disk, log);
        if (outbox.LastSequence + 1 <= model.HighestSequence)
        {
            return $"next sequence {outbox.LastSequence + 1} would reuse one handed out before ({model.HighestSequence}); files {string.Join(",", disk.List(""))}; log: {string.Join(" | ", log.Lines.Select(l => l.Message))}";
        }

        List<Batch> batches;
        try
        {
            batches = Pending(outbox, DataClass.Reads);
            Pending(outbox, DataClass.Presence);
        }
        catch (Exception ex)
        {
            return $"a waiting batch did not read back intact: {ex.Message}";
        }

        if (outbox.DroppedReads + outbox.DroppedEvents > 0)
        {
            return "a batch was given up as corrupt";
        }

        var waiting = batches.SelectMany(b => b.Reads).Select(IdOf).ToHashSet();
        var missing = model.Accepted.Where(id => !model.Delivered.Contains(id) && !waiting.Contains(id)).Take(5).ToList();
        if (missing.Count > 0)
        {
            return $"accepted reads lost: {string.Join(", ", missing)}";
        }

        var unknown = waiting.Where(id => id >= model.NextId).Take(5).ToList();
        return unknown.Count > 0 ? $"reads that were never appended: {string.Join(", ", unknown)}" : null;
    }

    private sealed class Model
    {
        public long NextId { get; set; }

        public ulong HighestSequence { get; set; }

        public HashSet<long> Accepted { get; } = [];

        public HashSet<long> Delivered { get; } = [];
    }
}
