using EdgeStream.Engine;
using EdgeStream.Engine.Time;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class Watermarks
{
    private const long T0 = 1_764_000_000_000_000;
    private const long Bound = 50_000;

    [Fact]
    public void Watermark_is_the_minimum_of_the_sources_own_watermarks()
    {
        var kit = new TaskKit();
        kit.Feed(new CountEvent(1, 100, T0 + 100_000, 0, 1));
        kit.Feed(new CountEvent(2, 200, T0 + 100_000, 0, 1));
        Assert.Equal(T0 + 100_000 - Bound, kit.Task.Watermark);

        kit.Feed(new CountEvent(1, 100, T0 + 1_000_000, 1, 1));
        Assert.Equal(T0 + 100_000 - Bound, kit.Task.Watermark);
        kit.Feed(new CountEvent(2, 200, T0 + 400_000, 1, 1));
        Assert.Equal(T0 + 400_000 - Bound, kit.Task.Watermark);
        kit.Feed(new CountEvent(2, 200, T0 + 2_000_000, 2, 1));
        Assert.Equal(T0 + 1_000_000 - Bound, kit.Task.Watermark);
    }

    [Fact]
    public void Watermark_never_moves_backwards_when_a_new_source_appears_behind_it()
    {
        var kit = new TaskKit();
        kit.Feed(new CountEvent(1, 100, T0 + 1_000_000, 0, 1));
        var before = kit.Task.Watermark;
        kit.Feed(new CountEvent(2, 200, T0, 0, 1));
        Assert.Equal(before, kit.Task.Watermark);
        Assert.Equal(SourceStatus.Behind, kit.Task.Sources().Single(s => s.Id == 200).Status);
        Assert.Equal(0, kit.Side.Count);
    }

    [Fact]
    public void A_silent_source_is_not_idle_while_its_partition_has_unread_records()
    {
        var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = Bound, IdleTimeout = TimeSpan.FromSeconds(5) });
        kit.Feed(new CountEvent(1, 100, T0 + 100_000, 0, 1));
        kit.Feed(new CountEvent(2, 200, T0 + 100_000, 0, 1));
        kit.Feed(new CountEvent(1, 100, T0 + 1_000_000, 1, 1));
        var held = kit.Task.Watermark;
        Assert.Equal(T0 + 100_000 - Bound, held);

        kit.Clock.Advance(TimeSpan.FromMinutes(1));
        kit.Task.OnClock(caughtUp: false);
        Assert.Equal(held, kit.Task.Watermark);
        Assert.All(kit.Task.Sources(), s => Assert.Equal(SourceStatus.Active, s.Status));

        kit.Task.OnClock(caughtUp: true);
        Assert.All(kit.Task.Sources(), s => Assert.Equal(SourceStatus.Idle, s.Status));
        Assert.Equal(T0 + 1_000_000, kit.Task.Watermark);
    }

    [Fact]
    public void An_idle_source_stops_holding_back_the_others_and_loses_nothing_when_it_returns()
    {
        var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, IdleTimeout = TimeSpan.FromSeconds(5) });

        // Source 200 sends a little, then goes quiet while 100 keeps going.
        kit.Feed(new CountEvent(7, 200, T0 + 10_000, 0, 1));
        for (var i = 0; i < 10; i++)
        {
            kit.Feed(new CountEvent(1, 100, T0 + (i * 100_000), (uint)i, 1));
        }

        Assert.Equal(T0 + 10_000 - Bound, kit.Task.Watermark);
        kit.Clock.Advance(TimeSpan.FromSeconds(6));
        kit.Task.OnClock(caughtUp: true);
        kit.Feed(new CountEvent(1, 100, T0 + 5_000_000, 10, 1));
        Assert.Equal(T0 + 5_000_000 - Bound, kit.Task.Watermark);

        // 200 returns with data its own clock says is on time but that is far behind the task watermark.
        var processedBefore = kit.Task.Counters.Processed;
        for (var i = 0; i < 20; i++)
        {
            kit.Feed(new CountEvent(7, 200, T0 + 20_000 + (i * 30_000), (uint)(i + 1), 1));
        }

        Assert.Equal(0, kit.Task.Counters.Late);
        Assert.Equal(0, kit.Side.Count);
        Assert.True(kit.Task.Counters.Behind > 0);

        kit.Task.EndOfInput();
        Assert.Equal(kit.Task.Counters.Events, kit.Task.Counters.Processed);
        Assert.True(kit.Task.TryGetState(7, out var state));
        Assert.Equal(21, state.TotalCount);
        Assert.True(kit.Task.Counters.Processed > processedBefore);
    }

    [Fact]
    public void A_returning_source_rejoins_the_watermark_once_its_own_clock_catches_up()
    {
        var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = Bound, IdleTimeout = TimeSpan.FromSeconds(1) });
        kit.Feed(new CountEvent(1, 100, T0 + 1_000_000, 0, 1));
        kit.Feed(new CountEvent(2, 200, T0 + 1_000_000, 0, 1));
        kit.Clock.Advance(TimeSpan.FromSeconds(2));
        kit.Task.OnClock(caughtUp: true);
        kit.Feed(new CountEvent(1, 100, T0 + 3_000_000, 1, 1));
        var w = kit.Task.Watermark;

        kit.Feed(new CountEvent(2, 200, T0 + 1_500_000, 1, 1));
        Assert.Equal(SourceStatus.Behind, kit.Task.Sources().Single(s => s.Id == 200).Status);
        Assert.Equal(w, kit.Task.Watermark);

        kit.Feed(new CountEvent(2, 200, T0 + 4_000_000, 2, 1));
        Assert.Equal(SourceStatus.Active, kit.Task.Sources().Single(s => s.Id == 200).Status);
        Assert.Equal(0, kit.Side.Count);
    }

    [Fact]
    public void When_every_source_is_idle_the_buffered_tail_is_released()
    {
        var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = Bound, IdleTimeout = TimeSpan.FromSeconds(1) });
        kit.Feed(new CountEvent(1, 100, T0, 0, 1));
        kit.Feed(new CountEvent(1, 100, T0 + 10_000, 1, 1));
        Assert.Equal(2, kit.Task.BufferedEvents);

        kit.Clock.Advance(TimeSpan.FromSeconds(2));
        kit.Task.OnClock(caughtUp: true);
        Assert.Equal(0, kit.Task.BufferedEvents);
        Assert.Equal(2, kit.Task.Counters.Processed);
    }
}
