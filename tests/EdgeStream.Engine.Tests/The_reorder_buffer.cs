using System.Runtime.CompilerServices;
using EdgeStream.Engine.Time;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class The_reorder_buffer
{
    private static int CompareSeq(in (int Source, int Seq) a, in (int Source, int Seq) b) =>
        a.Source != b.Source ? a.Source.CompareTo(b.Source) : a.Seq.CompareTo(b.Seq);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 64)]
    [InlineData(3, 4096)]
    public void Releases_in_time_then_tie_break_order_with_duplicates_dropped_whatever_the_arrival_order(int seed, long width)
    {
        var rng = new Random(seed);
        var events = Enumerable.Range(0, 20_000)
            .Select(i => (Time: (long)rng.Next(0, 50_000), E: (Source: rng.Next(3), Seq: i)))
            .ToList();
        var arrivals = events.Concat(events.Where((_, i) => i % 7 == 0)).OrderBy(_ => rng.Next()).ToList();
        var buffer = new ReorderBuffer<(int Source, int Seq)>(CompareSeq, width);

        // Interleave inserts with releases up to a rising bound, as the watermark would.
        var released = new List<(long Time, (int, int) E)>();
        var offered = new HashSet<(long, (int, int))>();
        var dropped = 0L;
        long bound = -1;
        for (var i = 0; i < arrivals.Count; i++)
        {
            if (arrivals[i].Time > bound)
            {
                offered.Add((arrivals[i].Time, arrivals[i].E));
                if (!buffer.Insert(arrivals[i].Time, arrivals[i].E))
                {
                    dropped++;
                }
            }

            if (i % 1000 == 999)
            {
                bound += 1500;
                ReleaseUpTo(buffer, bound, released);
            }
        }

        ReleaseUpTo(buffer, long.MaxValue, released);
        dropped += buffer.TakeDuplicates();
        Assert.True(dropped > 0);
        for (var i = 1; i < released.Count; i++)
        {
            var c = released[i - 1].Time != released[i].Time
                ? released[i - 1].Time.CompareTo(released[i].Time)
                : CompareSeq(released[i - 1].E, released[i].E);
            Assert.True(c < 0, $"release {i} is out of order or a duplicate");
        }

        // Everything that arrived ahead of the bound was released exactly once.
        Assert.Equal(offered.Count, released.Count);
        Assert.True(offered.SetEquals(released));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(4096)]
    public void Input_mostly_in_release_order_is_released_in_order_and_every_duplicate_dropped(long width)
    {
        // Distinct events in release order, many sharing a time.
        var rng = new Random(5);
        var ordered = new List<(long Time, (int Source, int Seq) E)>();
        long t = 0;
        for (var i = 0; i < 20_000; i++)
        {
            t += rng.Next(0, 3);
            ordered.Add((t, (rng.Next(3), i)));
        }

        ordered.Sort((x, y) => x.Time != y.Time ? x.Time.CompareTo(y.Time) : CompareSeq(x.E, y.E));

        // Arrivals: in order, but every 10th event repeated at once, every 50th repeated a few events later,
        // and every 300th swapped with its successor (so some buckets turn out of order part-way).
        var arrivals = new List<(long Time, (int Source, int Seq) E)>();
        var repeats = 0;
        for (var i = 0; i < ordered.Count; i++)
        {
            arrivals.Add(ordered[i]);
            if (i % 10 == 0)
            {
                arrivals.Add(ordered[i]);
                repeats++;
            }

            if (i % 50 == 0 && i >= 3)
            {
                arrivals.Add(ordered[i - 3]);
                repeats++;
            }
        }

        for (var i = 0; i + 1 < arrivals.Count; i += 300)
        {
            (arrivals[i], arrivals[i + 1]) = (arrivals[i + 1], arrivals[i]);
        }

        var buffer = new ReorderBuffer<(int Source, int Seq)>(CompareSeq, width);
        var released = new List<(long Time, (int Source, int Seq) E)>();
        long dropped = 0;
        for (var i = 0; i < arrivals.Count; i++)
        {
            if (!buffer.Insert(arrivals[i].Time, arrivals[i].E))
            {
                dropped++;
            }

            // Release up to well behind the newest arrival, as a watermark with a bound would.
            if (i % 500 == 499)
            {
                ReleaseUpTo(buffer, arrivals[i].Time - 200, released);
            }
        }

        ReleaseUpTo(buffer, long.MaxValue, released);
        dropped += buffer.TakeDuplicates();
        Assert.Equal(repeats, dropped);
        Assert.Equal(ordered, released);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(50)]
    [InlineData(5_000)]
    public void A_sparse_wide_bucket_is_ordered_and_deduplicated_without_the_counting_sort(int n)
    {
        // One bucket 2^20 µs wide: too wide for the counting sort whatever its size.
        var rng = new Random(n);
        var events = Enumerable.Range(0, n)
            .Select(i => (Time: (long)rng.Next(0, 1 << 20), E: (Source: rng.Next(3), Seq: i)))
            .ToList();
        var arrivals = events.Concat(events.Where((_, i) => i % 5 == 0)).OrderBy(_ => rng.Next()).ToList();
        var buffer = new ReorderBuffer<(int Source, int Seq)>(CompareSeq, 1 << 20);
        long dropped = 0;
        foreach (var (time, e) in arrivals)
        {
            dropped += buffer.Insert(time, e) ? 0 : 1;
        }

        var released = new List<(long Time, (int Source, int Seq) E)>();
        ReleaseUpTo(buffer, long.MaxValue, released);
        dropped += buffer.TakeDuplicates();

        var expected = events.ToList();
        expected.Sort((x, y) => x.Time != y.Time ? x.Time.CompareTo(y.Time) : CompareSeq(x.E, y.E));
        Assert.Equal(expected, released);
        Assert.Equal(arrivals.Count - n, dropped);
    }

    [Fact]
    public void A_snapshot_copy_lists_every_buffered_event_in_order()
    {
        var buffer = new ReorderBuffer<(int Source, int Seq)>(CompareSeq, 16);
        var rng = new Random(4);
        var times = Enumerable.Range(0, 500).Select(i => (long)rng.Next(1000)).ToList();
        for (var i = 0; i < times.Count; i++)
        {
            buffer.Insert(times[i], (0, i));
        }

        buffer.Pop();
        var copy = Array.Empty<Buffered<(int Source, int Seq)>>();
        var n = buffer.CopyTo(ref copy);
        Assert.Equal(buffer.Count, n);
        Assert.Equal(499, n);
        Assert.True(copy.Take(n).Select(b => b.Time).SequenceEqual(times.Order().Skip(1)));
    }

    [Fact]
    public void Events_moved_when_a_bucket_compacts_are_not_kept_alive_by_their_old_places()
    {
        var buffer = new ReorderBuffer<Tagged>(CompareTagged, 1024);
        var payloads = FillReleaseCompactAndReleaseAll(buffer);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.Equal(0, buffer.Count);
        Assert.Equal(17, payloads.Count);
        for (var i = 0; i < payloads.Count; i++)
        {
            Assert.False(payloads[i].IsAlive, $"the payload of released event {i} is still reachable from the buffer");
        }
    }

    private static int CompareTagged(in Tagged a, in Tagged b) => a.Seq.CompareTo(b.Seq);

    /// <summary>
    /// One bucket filled to its first capacity (16), more than half released, then one more insert into the
    /// sorted bucket: it is full, so it moves its events to the front. Then everything is released. Returns weak
    /// references to every event's payload (nothing else holds them once this returns).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> FillReleaseCompactAndReleaseAll(ReorderBuffer<Tagged> buffer)
    {
        var payloads = new List<WeakReference>();
        Tagged New(int seq)
        {
            var payload = new object();
            payloads.Add(new WeakReference(payload));
            return new Tagged(seq, payload);
        }

        for (var i = 0; i < 16; i++)
        {
            Assert.True(buffer.Insert(i, New(i)));
        }

        Assert.Equal(16, buffer.PeekRun().Length);
        buffer.Consume(9);
        Assert.True(buffer.Insert(100, New(100)));
        Assert.Equal(8, buffer.PeekRun().Length);
        buffer.Consume(8);
        return payloads;
    }

    private readonly record struct Tagged(int Seq, object Payload);

    /// <summary>Pops every buffered event up to <paramref name="bound"/>, as a watermark's release would.</summary>
    private static void ReleaseUpTo<T>(ReorderBuffer<T> buffer, long bound, List<(long Time, T E)> released)
        where T : struct
    {
        while (buffer.Count > 0 && buffer.HeadTime <= bound)
        {
            var b = buffer.Pop();
            released.Add((b.Time, b.Event));
        }
    }
}
