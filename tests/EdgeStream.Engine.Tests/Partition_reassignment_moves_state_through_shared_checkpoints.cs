using EdgeStream.Engine;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// Partitions move between two runner instances while data flows: revoked from one (final checkpoint),
/// assigned to the other (restore), back again. Keyed state, timers and buffered events move with
/// them, so the outputs equal a run that never moved.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class Partition_reassignment_moves_state_through_shared_checkpoints : IDisposable
{
    private const int Partitions = 4;
    private readonly TempDirectory _dir = new("engine-reassign-");

    public void Dispose() => _dir.Dispose();

    private static EngineOptions Options => new()
    {
        OutOfOrdernessUs = 50_000,
        AllowedLatenessUs = 20_000,
        KeyGroupCount = 64,
        CheckpointInterval = TimeSpan.FromMilliseconds(30),
        PollInterval = TimeSpan.FromMilliseconds(10),
    };

    private static void Append(InMemoryLog log, IEnumerable<CountEvent> events)
    {
        foreach (var e in events)
        {
            log.Append(TestData.PartitionOf(e.Key, Partitions), e.KeyBytes(), e.ValueBytes());
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(5, cts.Token);
        }
    }

    [Fact]
    public async Task Outputs_equal_a_run_whose_partitions_never_moved()
    {
        var events = TestData.ShuffleWithinBound(TestData.Generate(41, 60_000, keys: 800, sources: 4), 50_000, 42);
        var thirds = new[] { events.Take(20_000), events.Skip(20_000).Take(20_000), events.Skip(40_000) };

        // Reference: one instance, all partitions, start to end.
        var referenceLog = new InMemoryLog(Partitions);
        Append(referenceLog, events);
        var referenceSink = new InMemoryOutputSink<ulong, Summary>();
        await using (var reference = new StreamRunner<CountEvent, ulong, CountState, Summary>(
            new CountJob(), Options, referenceLog, referenceSink, new InMemorySideOutput(), new FileCheckpointStore(Path.Combine(_dir.Path, "reference"))))
        {
            for (var p = 0; p < Partitions; p++)
            {
                referenceLog.Seal(p);
            }

            await reference.AssignAsync(Enumerable.Range(0, Partitions), CancellationToken.None);
            await reference.WhenAllEndedAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        // Two instances over one log, one shared checkpoint store and one idempotent sink.
        var log = new InMemoryLog(Partitions);
        var sink = new InMemoryOutputSink<ulong, Summary>();
        var side = new InMemorySideOutput();
        var store = new FileCheckpointStore(Path.Combine(_dir.Path, "shared"));
        await using var first = new StreamRunner<CountEvent, ulong, CountState, Summary>(new CountJob(), Options, log, sink, side, store);
        await using var second = new StreamRunner<CountEvent, ulong, CountState, Summary>(new CountJob(), Options, log, sink, side, store);

        await first.AssignAsync(Enumerable.Range(0, Partitions), CancellationToken.None);
        Append(log, thirds[0]);
        await WaitForAsync(() => first.Status().Sum(s => s.Events) == log.Length(0) + log.Length(1) + log.Length(2) + log.Length(3));

        await first.RevokeAsync([2, 3], CancellationToken.None);
        await second.AssignAsync([2, 3], CancellationToken.None);
        Assert.All(second.Status(), s => Assert.True(s.NextOffset > 0));
        Assert.All(second.Status(), s => Assert.True(s.Keys > 0));
        Append(log, thirds[1]);
        await WaitForAsync(() => first.Status().Concat(second.Status()).All(s => s.OffsetLag == 0 && s.NextOffset == log.Length(s.Partition)));

        await first.RevokeAsync([0], CancellationToken.None);
        await second.AssignAsync([0], CancellationToken.None);
        await second.RevokeAsync([3], CancellationToken.None);
        await first.AssignAsync([3], CancellationToken.None);
        Append(log, thirds[2]);
        for (var p = 0; p < Partitions; p++)
        {
            log.Seal(p);
        }

        await Task.WhenAll(first.WhenAllEndedAsync(), second.WhenAllEndedAsync()).WaitAsync(TimeSpan.FromSeconds(60));

        var expected = referenceSink.Snapshot().Select(o => $"{o.Key} {o.Id} {o.Value}").ToList();
        var actual = sink.Snapshot().Select(o => $"{o.Key} {o.Id} {o.Value}").ToList();
        Assert.True(expected.Count > 1000);
        Assert.Equal(expected, actual);
        Assert.Equal(0, sink.Conflicts);
    }
}
