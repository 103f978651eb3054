using EdgeStream.Engine;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class Checkpoints : IDisposable
{
    private readonly TempDirectory _dir = new("engine-ckpt-");

    public void Dispose() => _dir.Dispose();

    private static byte[] Checkpoint(TaskKit kit, long id = 1)
    {
        var snapshot = kit.Task.BeginCheckpoint(id);
        using var w = new SnapshotWriter();
        kit.Task.WriteCheckpoint(snapshot, w);
        kit.Task.ReleaseSnapshot(snapshot);
        return w.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.93)]
    public void Restoring_a_checkpoint_and_replaying_from_its_offset_gives_the_uninterrupted_outputs(double at)
    {
        var events = TestData.ShuffleWithinBound(TestData.Generate(5, 10_000, keys: 200, sources: 3), 50_000, 6);
        var reference = new TaskKit();
        reference.Feed(events);
        reference.Task.EndOfInput();

        // Run to a point, checkpoint, keep going (those outputs are "lost" with the crash), then restore.
        var first = new TaskKit();
        var cut = (int)(events.Count * at);
        first.Feed(events.Take(cut));
        Assert.True(first.Task.BufferedEvents > 0);
        var payload = Checkpoint(first);
        first.Feed(events.Skip(cut).Take(500));

        var second = new TaskKit();
        second.Task.Restore(payload);
        Assert.Equal(cut, second.Task.NextOffset);
        Assert.Equal(first.Task.KeyCount > 0, second.Task.KeyCount > 0);
        second.Offset = second.Task.NextOffset;
        second.Feed(events.Skip(cut));
        second.Task.EndOfInput();

        // Union of what both incarnations emitted, as an idempotent store would hold it.
        var union = first.Sink.Snapshot().Concat(second.Sink.Snapshot())
            .GroupBy(o => (o.Key, o.Id))
            .Select(g => g.Select(o => $"{o.Key} {o.Id} {o.Value}").Distinct().Single())
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(reference.Outputs().Order(StringComparer.Ordinal), union);
    }

    [Fact]
    public void The_snapshot_is_a_copy_so_processing_during_serialisation_does_not_change_it()
    {
        var events = TestData.Generate(8, 4_000, keys: 100, sources: 2);
        var kit = new TaskKit();
        kit.Feed(events.Take(2_000));
        var expected = Checkpoint(kit, 1);

        var snapshot = kit.Task.BeginCheckpoint(2);
        kit.Feed(events.Skip(2_000));
        using var w = new SnapshotWriter();
        kit.Task.WriteCheckpoint(snapshot, w);
        Assert.Equal(expected, w.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(64, 10)]
    [InlineData(256, 50)]
    [InlineData(500, 200)]
    public void An_incremental_copy_with_processing_between_steps_equals_a_copy_taken_at_once(int chunk, int eventsPerStep)
    {
        // A short TTL makes keys expire, free their slots and take free slots again while the copy runs.
        var options = new EngineOptions { OutOfOrdernessUs = 50_000, AllowedLatenessUs = 20_000, StateTtlUs = 300_000, KeyGroupCount = 32 };
        var events = TestData.ShuffleWithinBound(TestData.Generate(12, 40_000, keys: 3_000, sources: 3, maxStepUs: 400), 50_000, 13);
        var kit = new TaskKit(options);
        kit.Feed(events.Take(20_000));
        var atOnce = Checkpoint(kit, 1);

        var snapshot = kit.Task.BeginCheckpoint(2, chunk);
        Assert.False(snapshot.IsComplete);
        Assert.True(kit.Task.IsCopyingCheckpoint);
        var fed = 20_000;
        var steps = 0;
        while (!kit.Task.ContinueCheckpointCopy(chunk))
        {
            kit.Feed(events.Skip(fed).Take(eventsPerStep));
            fed += eventsPerStep;
            steps++;
        }

        Assert.True(snapshot.IsComplete);
        Assert.True(steps > 3);
        Assert.True(kit.Task.Counters.Expired > 0);
        kit.Feed(events.Skip(fed));
        using var w = new SnapshotWriter();
        kit.Task.WriteCheckpoint(snapshot, w);
        Assert.Equal(atOnce, w.WrittenSpan.ToArray());
    }

    [Fact]
    public void Key_groups_can_be_imported_selectively_from_another_tasks_checkpoint()
    {
        var kit = new TaskKit();
        kit.Feed(TestData.Generate(9, 5_000, keys: 500, sources: 2));
        var payload = Checkpoint(kit);
        var groups = kit.Options.KeyGroupCount;
        bool Lower(int g) => g < groups / 2;

        var target = new TaskKit(partition: 3);
        target.Task.ImportKeyGroups(payload, Lower);
        Assert.True(target.Task.KeyCount > 100);
        for (ulong k = 1; k <= 500; k++)
        {
            var inLower = Lower(KeyGroups.Of(StableHash.Mix(k), groups));
            Assert.Equal(inLower && kit.Task.TryGetState(k, out _), target.Task.TryGetState(k, out var s));
            if (inLower && kit.Task.TryGetState(k, out var original))
            {
                Assert.Equal(original, s);
            }
        }
    }

    [Fact]
    public void A_checkpoint_of_another_partition_or_key_group_count_is_refused()
    {
        var kit = new TaskKit();
        kit.Feed(TestData.Generate(10, 100, keys: 10, sources: 1));
        var payload = Checkpoint(kit);
        Assert.Throws<CheckpointFormatException>(() => new TaskKit(partition: 1).Task.Restore(payload));
        var otherGroups = new TaskKit(new EngineOptions { KeyGroupCount = 64 });
        var ex = Assert.Throws<CheckpointFormatException>(() => otherGroups.Task.Restore(payload));
        Assert.Contains("KeyGroupCount", ex.Message, StringComparison.Ordinal);
        Assert.Throws<CheckpointFormatException>(() => new TaskKit().Task.Restore(payload.AsSpan(0, payload.Length / 2)));
    }

    [Fact]
    public async Task The_store_keeps_N_checkpoints_and_falls_back_past_torn_and_corrupted_ones()
    {
        var store = new FileCheckpointStore(_dir.Path, retained: 3);
        for (var id = 1; id <= 5; id++)
        {
            await store.SaveAsync(2, id, new byte[] { (byte)id, 1, 2, 3 }, CancellationToken.None);
        }

        Assert.Equal(3, Directory.GetFiles(store.PartitionFolder(2), "*.ckpt").Length);
        Assert.Equal(5, (await store.LoadLatestAsync(2, CancellationToken.None))!.CheckpointId);

        // Torn: the newest file lost its tail.
        var newest = store.PathOf(2, 5);
        var bytes = await File.ReadAllBytesAsync(newest);
        await File.WriteAllBytesAsync(newest, bytes[..^3]);
        var loaded = await store.LoadLatestAsync(2, CancellationToken.None);
        Assert.Equal(4, loaded!.CheckpointId);
        Assert.Equal(new byte[] { 4, 1, 2, 3 }, loaded.Payload);

        // Corrupted: one flipped bit in the next.
        var next = store.PathOf(2, 4);
        bytes = await File.ReadAllBytesAsync(next);
        bytes[30] ^= 0x10;
        await File.WriteAllBytesAsync(next, bytes);
        Assert.Equal(3, (await store.LoadLatestAsync(2, CancellationToken.None))!.CheckpointId);
        Assert.Equal(3, store.RejectedCount);
        Assert.Equal(5, await store.HighestIdAsync(2, CancellationToken.None));
        Assert.Null(await store.LoadLatestAsync(7, CancellationToken.None));
    }

    [Fact]
    public void Verify_names_what_is_wrong()
    {
        Assert.Contains("shorter", FileCheckpointStore.Verify(new byte[5], 0, 1), StringComparison.Ordinal);
        Assert.Contains("magic", FileCheckpointStore.Verify(new byte[64], 0, 1), StringComparison.Ordinal);
    }
}
