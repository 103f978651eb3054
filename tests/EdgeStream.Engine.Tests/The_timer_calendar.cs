using EdgeStream.Engine.State;
using EdgeStream.Engine.Time;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class The_timer_calendar
{
    /// <summary>Times all equal (a window end shared by every key), spread, clustered, or far apart.</summary>
    public static TheoryData<int, string> Shapes => new()
    {
        { 1, "same" },
        { 2, "spread" },
        { 3, "clusters" },
        { 4, "far" },
    };

    private static long TimeFor(Random rng, string shape) => shape switch
    {
        "same" => 1_000_000,
        "spread" => rng.Next(0, 200_000),
        "clusters" => (rng.Next(0, 4) * 3_000) + rng.Next(0, 3),
        _ => rng.NextInt64(0, 1L << 40),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Fires_in_time_then_key_hash_then_slot_order_with_adds_and_removals_between_pops(int seed, string shape)
    {
        var rng = new Random(seed);
        var calendar = new TimerCalendar();
        var reference = new SortedSet<(long Time, ulong Hash, int Slot)>();
        var fired = new List<(long Time, ulong Hash, int Slot)>();
        for (var round = 0; round < 40; round++)
        {
            for (var i = 0; i < rng.Next(0, 3_000); i++)
            {
                var slot = rng.Next(0, 50_000);
                var time = TimeFor(rng, shape);

                // A few hash collisions between keys, so the slot tie-break is exercised too.
                var hash = StableHash.Mix((ulong)(slot % 40_000));
                if (reference.Add((time, hash, slot)))
                {
                    calendar.Add(slot, hash, time);
                }
            }

            // Delete a few pending timers, as DeleteEventTimer would.
            foreach (var t in reference.Where(_ => rng.Next(50) == 0).ToList())
            {
                Assert.True(calendar.Remove(t.Slot, t.Time));
                reference.Remove(t);
            }

            Assert.False(calendar.Remove(-1, 0));
            Assert.Equal(reference.Count, calendar.Count);
            var pops = rng.Next(0, reference.Count + 1);
            for (var i = 0; i < pops; i++)
            {
                Assert.Equal(reference.Min.Time, calendar.NextTime);
                var t = calendar.Pop();
                Assert.Equal(reference.Min, (t.Time, t.KeyHash, t.Slot));
                reference.Remove(reference.Min);
                fired.Add((t.Time, t.KeyHash, t.Slot));
            }
        }

        var copy = Array.Empty<TimerEntry>();
        var n = calendar.CopyTo(ref copy);
        Assert.Equal(reference.Count, n);
        Assert.True(reference.SetEquals(copy.Take(n).Select(t => (t.Time, t.KeyHash, t.Slot))));
        while (calendar.Count > 0)
        {
            var t = calendar.Pop();
            fired.Add((t.Time, t.KeyHash, t.Slot));
            reference.Remove((t.Time, t.KeyHash, t.Slot));
        }

        Assert.Empty(reference);
        Assert.Equal(long.MaxValue, calendar.NextTime);
        Assert.True(fired.Count > 1_000);
    }

    [Fact]
    public void A_timer_earlier_than_the_bucket_being_fired_fires_first()
    {
        var calendar = new TimerCalendar();
        calendar.Add(1, 10, 1_000_000);
        calendar.Add(2, 20, 1_000_000);
        Assert.Equal(1, calendar.Pop().Slot);

        // The later bucket is half fired when an earlier timer and a same-bucket timer arrive.
        calendar.Add(3, 30, 5);
        calendar.Add(4, 5, 1_000_000);
        Assert.Equal(5, calendar.NextTime);
        Assert.Equal([3, 4, 2], [calendar.Pop().Slot, calendar.Pop().Slot, calendar.Pop().Slot]);
        Assert.Equal(0, calendar.Count);
    }
}
