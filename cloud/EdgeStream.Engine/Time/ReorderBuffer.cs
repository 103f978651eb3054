namespace EdgeStream.Engine.Time;

/// <summary>An event waiting to be released, with its event time.</summary>
internal struct Buffered<TEvent>
{
    public long Time;
    public TEvent Event;
}

/// <summary>
/// Holds events until the watermark passes them and releases them in (event time, job tie-break)
/// order. A sorted array with a moving head: appending an in-order event is O(1), and an event that is
/// a little out of order moves only the few events after it, which is the common case for data
/// whose disorder is bounded. Events equal under the tie-break are duplicates and are dropped.
/// </summary>
internal sealed class ReorderBuffer<TEvent>
    where TEvent : struct
{
    private readonly Func<Buffered<TEvent>, Buffered<TEvent>, int> _compareSameTime;
    private Buffered<TEvent>[] _items;
    private int _head;
    private int _tail;

    public ReorderBuffer(Func<Buffered<TEvent>, Buffered<TEvent>, int> compareSameTime, int capacity = 1024)
    {
        _compareSameTime = compareSameTime;
        _items = new Buffered<TEvent>[Math.Max(16, capacity)];
    }

    public int Count => _tail - _head;

    /// <summary>Time of the earliest buffered event; only valid when <see cref="Count"/> &gt; 0.</summary>
    public long HeadTime => _items[_head].Time;

    /// <summary>Inserts in order; returns false when an equal event is already buffered.</summary>
    public bool Insert(long time, in TEvent evt)
    {
        if (_tail == _items.Length)
        {
            MakeRoom();
        }

        var item = new Buffered<TEvent> { Time = time, Event = evt };
        if (_tail == _head || _items[_tail - 1].Time < time)
        {
            _items[_tail++] = item;
            return true;
        }

        // Find the first position whose element is greater than the new one, scanning back a few
        // steps (nearly sorted input) before falling back to binary search.
        var pos = _tail;
        var steps = 0;
        while (pos > _head && steps < 8)
        {
            var c = Compare(_items[pos - 1], item);
            if (c == 0)
            {
                return false;
            }

            if (c < 0)
            {
                break;
            }

            pos--;
            steps++;
        }

        if (steps == 8 && pos > _head)
        {
            var lo = _head;
            var hi = pos;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                var c = Compare(_items[mid], item);
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

            pos = lo;
        }

        Array.Copy(_items, pos, _items, pos + 1, _tail - pos);
        _items[pos] = item;
        _tail++;
        return true;
    }

    /// <summary>Removes and returns the earliest event.</summary>
    public ref readonly Buffered<TEvent> Pop()
    {
        ref readonly var item = ref _items[_head++];
        if (_head == _tail)
        {
            _head = 0;
            _tail = 0;
        }

        return ref item;
    }

    /// <summary>Copies the buffered events, earliest first, into <paramref name="target"/> (grown as needed); returns the count.</summary>
    public int CopyTo(ref Buffered<TEvent>[] target)
    {
        var n = Count;
        if (target.Length < n)
        {
            target = new Buffered<TEvent>[Math.Max(n, target.Length * 2)];
        }

        Array.Copy(_items, _head, target, 0, n);
        return n;
    }

    public void Clear()
    {
        Array.Clear(_items, _head, _tail - _head);
        _head = 0;
        _tail = 0;
    }

    private int Compare(in Buffered<TEvent> a, in Buffered<TEvent> b) =>
        a.Time != b.Time ? a.Time.CompareTo(b.Time) : _compareSameTime(a, b);

    private void MakeRoom()
    {
        if (_head > _items.Length / 4)
        {
            // Released events left room at the front: slide the live range down.
            Array.Copy(_items, _head, _items, 0, _tail - _head);
            Array.Clear(_items, _tail - _head, _head);
            _tail -= _head;
            _head = 0;
        }
        else
        {
            Array.Resize(ref _items, _items.Length * 2);
        }
    }
}
