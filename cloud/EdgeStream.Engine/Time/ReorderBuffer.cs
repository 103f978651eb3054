using System.Runtime.CompilerServices;

namespace EdgeStream.Engine.Time;

/// <summary>An event waiting to be released, with its event time.</summary>
internal struct Buffered<TEvent>
{
    public long Time;
    public TEvent Event;
}

/// <summary>Orders two events with the same event time; 0 means they are the same event.</summary>
internal delegate int SameTimeComparer<TEvent>(in TEvent a, in TEvent b);

/// <summary>
/// Holds events until the watermark passes them and releases them in (event time, job tie-break) order.
/// A calendar queue: events are appended, unsorted, to buckets of a fixed event-time width; a bucket is
/// sorted once (on its times, a primitive key) when it becomes the earliest, and only runs of equal times
/// are ordered with the job's comparer. Inserting is O(1) however much the input is disordered within
/// the bound; releasing costs one small sort per bucket. Equal events are duplicates: the later copy is
/// dropped and counted.
/// </summary>
internal sealed class ReorderBuffer<TEvent>
    where TEvent : struct
{
    private const int RingSize = 128;
    private readonly SameTimeComparer<TEvent> _compare;
    private readonly int _shift;
    private readonly CalendarBuckets<Bucket> _buckets = new();

    // Direct-mapped cache of buckets by id: arrivals shuffled within the bound land in a few dozen
    // neighbouring buckets in turn, and a dictionary lookup per event is a large part of inserting.
    private readonly Bucket?[] _ring = new Bucket?[RingSize];
    private Buffered<TEvent>[] _scratch = [];
    private long[] _sortTimes = [];
    private int[] _sortIndex = [];
    private int[] _counts = [];
    private long _duplicates;

    /// <param name="compare">Tie-break for equal times.</param>
    /// <param name="bucketWidthUs">Event-time width of a bucket, rounded down to a power of two.</param>
    public ReorderBuffer(SameTimeComparer<TEvent> compare, long bucketWidthUs)
    {
        _compare = compare;
        _shift = 63 - (int)long.LeadingZeroCount(Math.Max(1, bucketWidthUs));
    }

    /// <summary>
    /// A bucket width suited to an out-of-orderness bound: about 1/32 of it, and at least 4 ms, because
    /// events also wait for other sources' watermarks (up to the idle timeout) even with no bound at all.
    /// </summary>
    public static long WidthFor(long outOfOrdernessUs) => Math.Clamp(outOfOrdernessUs / 32, 4_096, 1L << 30);

    public int Count { get; private set; }

    /// <summary>Time of the earliest buffered event; only valid when <see cref="Count"/> &gt; 0.</summary>
    public long HeadTime
    {
        get
        {
            EnsureCurrent();
            var b = _buckets.Current!;
            return b.Items[b.Head].Time;
        }
    }

    /// <summary>Duplicates dropped since the last call.</summary>
    public long TakeDuplicates()
    {
        var d = _duplicates;
        _duplicates = 0;
        return d;
    }

    /// <summary>Buffers an event; returns false when it is at once recognisable as a duplicate (others are counted when their bucket is sorted).</summary>
    public bool Insert(long time, in TEvent evt)
    {
        var id = time >> _shift;
        var b = _ring[id & (RingSize - 1)];
        if (b is null || b.Id != id)
        {
            b = _buckets.Find(id);
        }

        if (b is null)
        {
            b = _buckets.Open(id);
            _ring[id & (RingSize - 1)] = b;
        }

        if (b.Sorted)
        {
            return SortedInsert(b, time, evt);
        }

        if (b.InOrder && b.Tail > b.Head)
        {
            // Still in release order so far? Then it needs no sort, and a duplicate can only be the last event.
            ref readonly var last = ref b.Items[b.Tail - 1];
            if (time < last.Time)
            {
                b.InOrder = false;
            }
            else if (time == last.Time)
            {
                var c = _compare(last.Event, evt);
                if (c == 0)
                {
                    return false;
                }

                b.InOrder = c < 0;
            }
        }

        b.Append(time, evt);
        Count++;
        return true;
    }

    /// <summary>
    /// The earliest events, in release order: the sorted rest of the earliest bucket (empty when the buffer
    /// is). Valid until the next insert or removal; consume what was processed with <see cref="Consume"/>.
    /// </summary>
    public ReadOnlySpan<Buffered<TEvent>> PeekRun()
    {
        if (Count == 0)
        {
            return default;
        }

        EnsureCurrent();
        var b = _buckets.Current!;
        return new ReadOnlySpan<Buffered<TEvent>>(b.Items, b.Head, b.Tail - b.Head);
    }

    /// <summary>Removes the first <paramref name="n"/> events of the run returned by <see cref="PeekRun"/>.</summary>
    public void Consume(int n)
    {
        var b = _buckets.Current!;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<TEvent>())
        {
            Array.Clear(b.Items, b.Head, n);
        }

        b.Head += n;
        Count -= n;
    }

    /// <summary>Removes and returns the earliest event.</summary>
    public Buffered<TEvent> Pop()
    {
        EnsureCurrent();
        var b = _buckets.Current!;
        var item = b.Items[b.Head];
        if (RuntimeHelpers.IsReferenceOrContainsReferences<TEvent>())
        {
            b.Items[b.Head] = default;
        }

        b.Head++;
        Count--;
        return item;
    }

    /// <summary>Copies the buffered events, earliest first, into <paramref name="target"/> (grown as needed); returns the count.</summary>
    public int CopyTo(ref Buffered<TEvent>[] target)
    {
        var buckets = new List<Bucket>(_buckets.All.Count);
        foreach (var b in _buckets.All)
        {
            if (!b.Sorted)
            {
                Sort(b);
            }

            buckets.Add(b);
        }

        buckets.Sort((x, y) => x.Id.CompareTo(y.Id));
        if (target.Length < Count)
        {
            target = new Buffered<TEvent>[Math.Max(Count, target.Length * 2)];
        }

        var n = 0;
        foreach (var b in buckets)
        {
            Array.Copy(b.Items, b.Head, target, n, b.Tail - b.Head);
            n += b.Tail - b.Head;
        }

        return n;
    }

    public void Clear()
    {
        _buckets.Clear();
        Array.Clear(_ring);
        Count = 0;
    }

    private void EnsureCurrent()
    {
        while (_buckets.Current is not { } current || current.Head == current.Tail)
        {
            if (_buckets.Current is { } done)
            {
                ref var cached = ref _ring[done.Id & (RingSize - 1)];
                if (cached == done)
                {
                    cached = null;
                }

                _buckets.Release(done);
                _buckets.Current = null;
            }

            if (!_buckets.TryDequeueWaiting(out var next))
            {
                throw new InvalidOperationException("The reorder buffer is empty.");
            }

            if (!next.Sorted)
            {
                Sort(next);
            }

            _buckets.Current = next;
        }
    }

    /// <summary>Sorts a bucket by time, orders equal-time runs with the job's comparer and drops duplicates.</summary>
    private void Sort(Bucket b)
    {
        if (b.InOrder)
        {
            // Appended in release order (a source publishing in order): nothing to sort, no duplicate left.
            b.Sorted = true;
            return;
        }

        var n = b.Tail - b.Head;
        if (n >= 64 && _shift <= 16 && (1L << _shift) <= 4L * n)
        {
            CountingSort(b, n);
        }
        else
        {
            ComparisonSort(b, n);
        }

        var items = b.Items;
        var write = b.Head;
        var i = b.Head;
        while (i < b.Tail)
        {
            var j = i + 1;
            while (j < b.Tail && items[j].Time == items[i].Time)
            {
                j++;
            }

            if (j - i > 1)
            {
                // Insertion sort of the run by tie-break (runs are short), then keep one of each equal group.
                for (var k = i + 1; k < j; k++)
                {
                    var e = items[k];
                    var m = k - 1;
                    while (m >= i && _compare(items[m].Event, e.Event) > 0)
                    {
                        items[m + 1] = items[m];
                        m--;
                    }

                    items[m + 1] = e;
                }

                for (var k = i; k < j; k++)
                {
                    if (k > i && _compare(items[k].Event, items[write - 1].Event) == 0)
                    {
                        _duplicates++;
                        Count--;
                        continue;
                    }

                    items[write++] = items[k];
                }
            }
            else
            {
                if (write != i)
                {
                    items[write] = items[i];
                }

                write++;
            }

            i = j;
        }

        if (RuntimeHelpers.IsReferenceOrContainsReferences<TEvent>())
        {
            Array.Clear(items, write, b.Tail - write);
        }

        b.Tail = write;
        b.Sorted = true;
    }

    /// <summary>
    /// Orders a dense bucket by time in two linear passes over the events (a counting sort on the time's
    /// offset within the bucket): a comparison sort moving whole events costs several times more.
    /// Stable, so equal times keep their arrival order until the tie-break pass.
    /// </summary>
    private void CountingSort(Bucket b, int n)
    {
        var width = 1 << _shift;
        if (_counts.Length < width + 1)
        {
            _counts = new int[width + 1];
        }

        var counts = _counts.AsSpan(0, width + 1);
        counts.Clear();
        var start = b.Id << _shift;
        var items = b.Items.AsSpan(b.Head, n);
        foreach (ref readonly var e in items)
        {
            counts[(int)(e.Time - start) + 1]++;
        }

        for (var i = 1; i < counts.Length; i++)
        {
            counts[i] += counts[i - 1];
        }

        var to = ScratchFor(b);
        foreach (ref readonly var e in items)
        {
            to[counts[(int)(e.Time - start)]++] = e;
        }

        Reuse(b, to, n);
    }

    /// <summary>
    /// Orders a sparse bucket by time: an insertion sort when it is small, else a sort of (time, index)
    /// pairs on primitive arrays and one pass gathering the events (no comparer is allocated, and each
    /// event moves once). Not stable; the tie-break pass orders equal times.
    /// </summary>
    private void ComparisonSort(Bucket b, int n)
    {
        var items = b.Items.AsSpan(b.Head, n);
        if (n <= 32)
        {
            for (var k = 1; k < n; k++)
            {
                var e = items[k];
                var m = k - 1;
                while (m >= 0 && items[m].Time > e.Time)
                {
                    items[m + 1] = items[m];
                    m--;
                }

                items[m + 1] = e;
            }

            return;
        }

        if (_sortTimes.Length < n)
        {
            _sortTimes = new long[b.Items.Length];
            _sortIndex = new int[b.Items.Length];
        }

        for (var i = 0; i < n; i++)
        {
            _sortTimes[i] = items[i].Time;
            _sortIndex[i] = i;
        }

        Array.Sort(_sortTimes, _sortIndex, 0, n);
        var to = ScratchFor(b);
        for (var i = 0; i < n; i++)
        {
            to[i] = items[_sortIndex[i]];
        }

        Reuse(b, to, n);
    }

    /// <summary>The scratch array a sort of <paramref name="b"/> writes into, grown to the bucket's array.</summary>
    private Buffered<TEvent>[] ScratchFor(Bucket b)
    {
        if (_scratch.Length < b.Items.Length)
        {
            _scratch = new Buffered<TEvent>[b.Items.Length];
        }

        return _scratch;
    }

    /// <summary>The sorted scratch array becomes the bucket's, and its old array the next scratch.</summary>
    private void Reuse(Bucket b, Buffered<TEvent>[] sorted, int n)
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<TEvent>())
        {
            Array.Clear(b.Items);
        }

        (b.Items, _scratch) = (sorted, b.Items);
        b.Head = 0;
        b.Tail = n;
    }

    private bool SortedInsert(Bucket b, long time, in TEvent evt)
    {
        var lo = b.Head;
        var hi = b.Tail;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            ref readonly var at = ref b.Items[mid];
            var c = at.Time != time ? at.Time.CompareTo(time) : _compare(at.Event, evt);
            if (c == 0)
            {
                return false;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        b.InsertAt(lo, time, evt);
        Count++;
        return true;
    }

    private sealed class Bucket : CalendarBucket
    {
        /// <summary>Events with their times, one array so that an append writes one place.</summary>
        public Buffered<TEvent>[] Items = new Buffered<TEvent>[16];

        /// <summary>Every event so far was appended in release order (time, then tie-break, no duplicate).</summary>
        public bool InOrder = true;

        public override void Reset() => InOrder = true;

        public override void Recycle()
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<TEvent>())
            {
                Array.Clear(Items, Head, Tail - Head);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Append(long time, in TEvent evt)
        {
            if (Tail == Items.Length)
            {
                MakeRoom();
            }

            ref var item = ref Items[Tail++];
            item.Time = time;
            item.Event = evt;
        }

        public void InsertAt(int at, long time, in TEvent evt)
        {
            if (Tail == Items.Length)
            {
                var shift = Head;
                MakeRoom();
                at -= shift - Head;
            }

            Array.Copy(Items, at, Items, at + 1, Tail - at);
            Items[at] = new Buffered<TEvent> { Time = time, Event = evt };
            Tail++;
        }

        private void MakeRoom()
        {
            if (Head > Items.Length / 2)
            {
                var n = Tail - Head;
                Array.Copy(Items, Head, Items, 0, n);
                if (RuntimeHelpers.IsReferenceOrContainsReferences<TEvent>())
                {
                    // The old places beyond the new tail still hold copies: they must not keep objects alive.
                    Array.Clear(Items, n, Tail - n);
                }

                Head = 0;
                Tail = n;
            }
            else
            {
                Array.Resize(ref Items, Items.Length * 2);
            }
        }
    }
}
