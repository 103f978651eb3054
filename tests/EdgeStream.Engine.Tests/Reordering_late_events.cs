using EdgeStream.Engine;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class Reordering_late_events
{
    private const long T0 = 1_764_000_000_000_000;

    private static List<string> Run(IEnumerable<CountEvent> events)
    {
        var kit = new TaskKit();
        kit.Feed(events);
        kit.Task.EndOfInput();
        Assert.Equal(0, kit.Side.Count);
        Assert.Equal(0, kit.Sink.Conflicts);
        return kit.Outputs();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void In_order_shuffled_within_the_bound_and_duplicated_inputs_give_identical_outputs(int seed)
    {
        var sorted = TestData.Generate(seed, 20_000, keys: 300, sources: 4);
        var shuffled = TestData.ShuffleWithinBound(sorted, 50_000, seed + 10);
        Assert.NotEqual(sorted, shuffled);

        // Every tenth event delivered a second time, shortly after the first.
        var rng = new Random(seed);
        var duplicated = new List<CountEvent>();
        var pending = new List<(int Due, CountEvent E)>();
        for (var i = 0; i < shuffled.Count; i++)
        {
            duplicated.Add(shuffled[i]);
            if (i % 10 == 0)
            {
                pending.Add((i + rng.Next(1, 5), shuffled[i]));
            }

            duplicated.AddRange(pending.Where(p => p.Due == i).Select(p => p.E));
            pending.RemoveAll(p => p.Due == i);
        }

        var expected = Run(sorted);
        Assert.True(expected.Count > 1000);
        Assert.Equal(expected, Run(shuffled));
        Assert.Equal(expected, Run(duplicated));
    }

    [Fact]
    public void Events_are_released_in_event_time_order_up_to_the_watermark()
    {
        var kit = new TaskKit();
        kit.Feed(new CountEvent(1, 100, T0 + 30_000, 0, 1));
        kit.Feed(new CountEvent(1, 100, T0 + 10_000, 1, 1));
        kit.Feed(new CountEvent(1, 100, T0 + 20_000, 2, 1));
        Assert.Equal(0, kit.Task.Counters.Processed);
        Assert.Equal(3, kit.Task.BufferedEvents);

        kit.Feed(new CountEvent(1, 100, T0 + 75_000, 3, 1));
        Assert.Equal(T0 + 25_000, kit.Task.Watermark);
        Assert.Equal(2, kit.Task.Counters.Processed);
        Assert.Equal(2, kit.Task.BufferedEvents);
    }

    [Fact]
    public void Events_later_than_the_allowed_lateness_go_to_the_side_output_counted_and_queryable()
    {
        var kit = new TaskKit();
        kit.Feed(new CountEvent(1, 100, T0 + 1_000_000, 0, 1));
        var watermark = kit.Task.Watermark;

        // Within the allowed lateness (20 ms): processed at once, flagged, emits a correction.
        kit.Feed(new CountEvent(2, 100, watermark - 10_000, 1, 5));
        Assert.Equal(1, kit.Task.Counters.LateAccepted);
        Assert.Contains(kit.Sink.Snapshot(), o => o.Key == 2 && o.Value.Kind == SummaryKind.Correction);

        // Beyond it: side output, never dropped silently.
        kit.Feed(new CountEvent(3, 100, watermark - 500_000, 2, 7));
        kit.Feed(new CountEvent(3, 100, watermark - 600_000, 3, 8));
        Assert.Equal(2, kit.Task.Counters.Late);
        var late = kit.Side.Query(SideReason.Late);
        Assert.Equal(2, late.Count);
        Assert.Equal([2L, 3L], late.Select(r => r.Offset));
        Assert.Equal(watermark - 500_000, late[0].EventTime);
        Assert.Equal(new CountEvent(3, 100, watermark - 500_000, 2, 7), CountEvent.Read(late[0].Value));
        Assert.Single(kit.Side.Query(SideReason.Late, from: watermark - 550_000));
        Assert.False(kit.Task.TryGetState(3, out _));
    }

    [Fact]
    public void A_malformed_record_is_counted_and_kept_in_the_side_output()
    {
        var kit = new TaskKit();
        kit.Task.ProcessRecord(kit.Offset++, [1, 2], [3, 4, 5]);
        kit.Feed(new CountEvent(1, 100, T0, 0, 1));
        Assert.Equal(1, kit.Task.Counters.Malformed);
        var bad = Assert.Single(kit.Side.Query(SideReason.Malformed));
        Assert.Equal(0, bad.Offset);
        Assert.Equal(new byte[] { 3, 4, 5 }, bad.Value);
        Assert.Contains("8-byte key", bad.Detail, StringComparison.Ordinal);
        Assert.Equal(2, kit.Task.NextOffset);
    }

    [Fact]
    public void A_full_reorder_buffer_releases_its_oldest_early_and_counts_it_instead_of_dropping()
    {
        var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = 10_000_000, MaxBufferedEvents = 16 });
        for (var i = 0; i < 40; i++)
        {
            kit.Feed(new CountEvent(1, 100, T0 + (i * 1000), (uint)i, 1));
        }

        Assert.Equal(16, kit.Task.BufferedEvents);
        Assert.Equal(24, kit.Task.Counters.ForcedReleases);
        kit.Task.EndOfInput();
        Assert.True(kit.Task.TryGetState(1, out var s));
        Assert.Equal(40, s.TotalCount);
    }
}
