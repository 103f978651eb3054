using EdgeStream.Contracts;

namespace EdgeStream.Windowing;

/// <summary>
/// The windowing stage's bounded event-time reorder of raw reads: a binary min-heap of (event time, slot) over a pool of reads, so
/// heap moves shuffle 16-byte entries rather than whole reads. Reads with equal event times come out in
/// a total order of their content (<see cref="Compare"/>), which is what makes the windowing output
/// independent of arrival order. Grows by doubling up to its capacity and never allocates after that.
/// </summary>
internal sealed class ReadHeap
{
    private readonly int _capacity;
    private TagRead[] _reads;
    private Entry[] _heap;
    private int[] _free;
    private int _freeCount;
    private int _count;

    public ReadHeap(int capacity)
    {
        _capacity = capacity;
        var initial = Math.Min(capacity, 1024);
        _reads = new TagRead[initial];
        _heap = new Entry[initial];
        _free = new int[initial];
        for (var i = 0; i < initial; i++)
        {
            _free[i] = initial - 1 - i;
        }

        _freeCount = initial;
    }

    public int Count => _count;

    public bool IsFull => _count >= _capacity;

    /// <summary>Event time of the earliest read; only valid when <see cref="Count"/> &gt; 0.</summary>
    public long MinTimeUs => _heap[0].TimeUs;

    public void Push(in TagRead read)
    {
        if (_freeCount == 0)
        {
            Grow();
        }

        var slot = _free[--_freeCount];
        _reads[slot] = read;
        var i = _count++;
        var e = new Entry(read.EventTimeUs, slot);
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (Less(_heap[parent], e) <= 0)
            {
                break;
            }

            _heap[i] = _heap[parent];
            i = parent;
        }

        _heap[i] = e;
    }

    /// <summary>Removes the earliest read. Only valid when <see cref="Count"/> &gt; 0.</summary>
    public TagRead Pop()
    {
        var top = _heap[0];
        var read = _reads[top.Slot];
        _reads[top.Slot] = default; // drop references (reader id, spilled EPC) for the GC
        _free[_freeCount++] = top.Slot;
        var last = _heap[--_count];
        if (_count > 0)
        {
            var i = 0;
            while (true)
            {
                var child = (2 * i) + 1;
                if (child >= _count)
                {
                    break;
                }

                if (child + 1 < _count && Less(_heap[child + 1], _heap[child]) < 0)
                {
                    child++;
                }

                if (Less(last, _heap[child]) <= 0)
                {
                    break;
                }

                _heap[i] = _heap[child];
                i = child;
            }

            _heap[i] = last;
        }

        return read;
    }

    private int Less(Entry a, Entry b)
    {
        if (a.TimeUs != b.TimeUs)
        {
            return a.TimeUs < b.TimeUs ? -1 : 1;
        }

        return Compare(in _reads[a.Slot], in _reads[b.Slot]);
    }

    /// <summary>A total order on reads with equal event times, from their content alone.</summary>
    internal static int Compare(in TagRead a, in TagRead b)
    {
        var c = string.CompareOrdinal(a.ReaderId, b.ReaderId);
        if (c != 0)
        {
            return c;
        }

        c = a.Antenna.CompareTo(b.Antenna);
        if (c != 0)
        {
            return c;
        }

        if (!a.Epc.Equals(b.Epc))
        {
            return a.Epc.CompareTo(b.Epc);
        }

        c = a.RssiCentiDbm.CompareTo(b.RssiCentiDbm);
        return c != 0 ? c : a.SeenCount.CompareTo(b.SeenCount);
    }

    private void Grow()
    {
        var old = _reads.Length;
        var size = Math.Min(_capacity, old * 2);
        Array.Resize(ref _reads, size);
        Array.Resize(ref _heap, size);
        Array.Resize(ref _free, size);
        for (var i = size - 1; i >= old; i--)
        {
            _free[_freeCount++] = i;
        }
    }

    private readonly record struct Entry(long TimeUs, int Slot);
}
