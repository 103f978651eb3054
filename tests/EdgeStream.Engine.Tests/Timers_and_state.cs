using EdgeStream.Engine;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class Timers_and_state
{
    private const long T0 = 1_764_000_000_000_000;
    private const long Bound = 50_000;

    [Fact]
    public void An_event_time_timer_fires_exactly_when_the_watermark_reaches_it()
    {
        var kit = new TaskKit();
        kit.Feed(new CountEvent(1, 100, T0 + 100, 0, 1));
        var windowEnd = T0 + 1_000_000;

        kit.Feed(new CountEvent(2, 100, windowEnd + Bound - 1, 1, 1));
        Assert.Equal(windowEnd - 1, kit.Task.Watermark);
        Assert.DoesNotContain(kit.Sink.Snapshot(), o => o.Key == 1);

        kit.Feed(new CountEvent(2, 100, windowEnd + Bound, 2, 1));
        Assert.Equal(windowEnd, kit.Task.Watermark);
        var fired = Assert.Single(kit.Sink.Snapshot(), o => o.Key == 1);
        Assert.Equal(new Summary(SummaryKind.Window, windowEnd, 1, 1, 1), fired.Value);
        Assert.Equal(windowEnd, fired.Timestamp);
    }

    [Fact]
    public void Timers_are_deduplicated_per_key_and_time()
    {
        var kit = new TaskKit();
        for (var i = 0; i < 50; i++)
        {
            kit.Feed(new CountEvent(1, 100, T0 + (i * 1000), (uint)i, 2));
        }

        // Another key moves the watermark past all 50 events but not to the window's end.
        kit.Feed(new CountEvent(2, 100, T0 + 500_000, 50, 1));
        Assert.Equal(50, kit.Task.Counters.Processed);
        Assert.Equal(1, kit.Task.TimerCount);
        kit.Task.EndOfInput();
        var window = Assert.Single(kit.Sink.Snapshot(), o => o.Key == 1);
        Assert.Equal(new Summary(SummaryKind.Window, T0 + 1_000_000, 50, 100, 50), window.Value);
        Assert.Equal(2, kit.Task.Counters.TimersFired);
    }

    [Fact]
    public void Timers_of_different_keys_at_the_same_time_fire_in_the_same_order_in_every_run()
    {
        static List<ulong> FiringOrder(IEnumerable<ulong> keys)
        {
            var kit = new TaskKit();
            uint seq = 0;
            foreach (var k in keys)
            {
                kit.Feed(new CountEvent(k, 100, T0 + 10, seq++, 1));
            }

            kit.Task.EndOfInput();
            return [.. kit.Sink.Snapshot().OrderBy(o => o.Id.KeyHash).Select(o => o.Key)];
        }

        var keys = Enumerable.Range(1, 200).Select(i => (ulong)i).ToList();
        Assert.Equal(FiringOrder(keys), FiringOrder(Enumerable.Reverse(keys)));
    }

    [Fact]
    public void A_processing_time_timer_fires_on_the_wall_clock()
    {
        var kit = new TaskKit(job: new CountJob { TickAfterUs = 5_000_000 });
        kit.Task.TickClock();
        kit.Feed(new CountEvent(1, 100, T0, 0, -1));
        kit.Feed(new CountEvent(2, 100, T0 + 100_000, 1, 1));
        kit.Task.OnClock(caughtUp: false);
        Assert.Equal(2, kit.Task.TimerCount); // the window's event-time timer and the tick
        Assert.DoesNotContain(kit.Sink.Snapshot(), o => o.Value.Kind == SummaryKind.Tick);

        kit.Clock.Advance(TimeSpan.FromSeconds(5));
        kit.Task.OnClock(caughtUp: false);
        Assert.Single(kit.Sink.Snapshot(), o => o.Value.Kind == SummaryKind.Tick);
    }

    [Fact]
    public void State_expires_after_its_ttl_and_a_new_life_gets_new_output_ids()
    {
        var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, StateTtlUs = 10_000_000, KeyGroupCount = 32 });
        kit.Feed(new CountEvent(1, 100, T0, 0, 1));
        kit.Feed(new CountEvent(1, 100, T0 + 5_000_000, 1, 1));
        kit.Feed(new CountEvent(2, 100, T0 + 5_100_000, 2, 1));
        Assert.True(kit.Task.TryGetState(1, out var alive));
        Assert.Equal(2, alive.TotalCount);

        // 30 s later the key is seen again: its old state has expired.
        kit.Feed(new CountEvent(1, 100, T0 + 40_000_000, 3, 1));
        kit.Feed(new CountEvent(2, 100, T0 + 40_100_000, 4, 1));
        Assert.True(kit.Task.TryGetState(1, out var reborn));
        Assert.Equal(1, reborn.TotalCount);
        kit.Task.EndOfInput();
        Assert.True(kit.Task.Counters.Expired >= 1);
        var ids = kit.Sink.Snapshot().Where(o => o.Key == 1).Select(o => o.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(2, ids.Select(i => i.Origin).Distinct().Count());
    }

    [Fact]
    public void Processing_time_timers_survive_a_checkpoint_and_fire_after_restore()
    {
        var job = new CountJob { TickAfterUs = 5_000_000 };
        var kit = new TaskKit(job: job);
        kit.Task.TickClock();
        kit.Feed(new CountEvent(1, 100, T0, 0, -1));
        kit.Feed(new CountEvent(2, 100, T0 + 100_000, 1, 1));
        Assert.Equal(2, kit.Task.TimerCount);
        var snapshot = kit.Task.BeginCheckpoint(1);
        using var w = new EdgeStream.Engine.Io.SnapshotWriter();
        kit.Task.WriteCheckpoint(snapshot, w);

        var restored = new TaskKit(job: job);
        restored.Task.Restore(w.WrittenSpan);
        Assert.Equal(2, restored.Task.TimerCount);
        restored.Task.OnClock(caughtUp: false);
        Assert.Empty(restored.Sink.Snapshot());
        restored.Clock.Advance(TimeSpan.FromSeconds(5));
        restored.Task.OnClock(caughtUp: false);
        Assert.Single(restored.Sink.Snapshot(), o => o.Key == 1 && o.Value.Kind == SummaryKind.Tick);
    }

    [Fact]
    public void Cleared_state_restarts_without_reusing_output_ids_and_is_freed_once_the_watermark_passes()
    {
        var kit = new TaskKit();
        kit.Feed(new CountEvent(1, 100, T0, 0, 3));
        kit.Feed(new CountEvent(1, 100, T0 + 1_500_000, 1, 0)); // clears key 1
        kit.Feed(new CountEvent(1, 100, T0 + 1_600_000, 2, 4));
        kit.Feed(new CountEvent(9, 100, T0 + 2_100_000, 3, 1));
        Assert.True(kit.Task.TryGetState(1, out var s));
        Assert.Equal(1, s.TotalCount);

        // Another clear, then the watermark moves far on: the entry goes once no on-time event can reach it.
        kit.Feed(new CountEvent(1, 100, T0 + 2_200_000, 4, 0));
        for (var i = 0; i < 300; i++)
        {
            kit.Feed(new CountEvent(9, 100, T0 + 3_000_000 + (i * 10_000), (uint)(5 + i), 1));
        }

        Assert.False(kit.Task.TryGetState(1, out _));
        var ids = kit.Sink.Snapshot().Where(o => o.Key == 1).Select(o => o.Id).ToList();
        Assert.True(ids.Count >= 2);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(0, kit.Sink.Conflicts);
    }

    [Fact]
    public void Expired_state_is_freed_once_the_watermark_passes_it()
    {
        var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, StateTtlUs = 1_000_000, KeyGroupCount = 32 });
        for (var k = 1; k <= 50; k++)
        {
            kit.Feed(new CountEvent((ulong)k, 100, T0 + k, (uint)k, 1));
        }

        // Keep another key busy long enough for the watermark to pass every TTL; timers of the 50 keys fire on the way.
        for (var i = 0; i < 200; i++)
        {
            kit.Feed(new CountEvent(999, 100, T0 + 3_000_000 + (i * 100_000), (uint)(100 + i), 1));
        }

        Assert.False(kit.Task.TryGetState(1, out _));
        Assert.True(kit.Task.KeyCount <= 2);
    }
}
