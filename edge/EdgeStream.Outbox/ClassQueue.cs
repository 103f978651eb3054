using EdgeStream.Outbox.Storage;

namespace EdgeStream.Outbox;

/// <summary>The batches of one data class waiting for the broker, in sequence order, with how many live in each segment.</summary>
internal sealed class ClassQueue
{
    private readonly SortedSet<ulong> _order = [];
    private readonly Dictionary<ulong, RecordInfo> _entries = [];
    private readonly Dictionary<ulong, int> _liveBySegment = [];

    public long Records { get; private set; }

    public int Batches => _entries.Count;

    public bool Contains(ulong seq) => _entries.ContainsKey(seq);

    public void Add(RecordInfo r)
    {
        if (!_entries.TryAdd(r.Sequence, r))
        {
            return;
        }

        _order.Add(r.Sequence);
        Records += r.Count;
        _liveBySegment[r.SegmentId] = _liveBySegment.GetValueOrDefault(r.SegmentId) + 1;
    }

    public bool Remove(ulong seq, out RecordInfo r)
    {
        if (!_entries.Remove(seq, out r))
        {
            return false;
        }

        _order.Remove(seq);
        Records -= r.Count;
        var left = _liveBySegment[r.SegmentId] - 1;
        if (left == 0)
        {
            _liveBySegment.Remove(r.SegmentId);
        }
        else
        {
            _liveBySegment[r.SegmentId] = left;
        }

        return true;
    }

    public bool HasLive(ulong segmentId) => _liveBySegment.ContainsKey(segmentId);

    public bool TryOldest(out RecordInfo r)
    {
        if (_order.Count == 0)
        {
            r = default;
            return false;
        }

        r = _entries[_order.Min];
        return true;
    }

    /// <summary>The first batch with a sequence in (<paramref name="after"/>, <paramref name="upTo"/>].</summary>
    public bool TryFirstAfter(ulong after, ulong upTo, out RecordInfo r)
    {
        r = default;
        if (_order.Count == 0 || after >= upTo || after >= _order.Max)
        {
            return false;
        }

        if (after < _order.Min)
        {
            if (_order.Min > upTo)
            {
                return false;
            }

            r = _entries[_order.Min];
            return true;
        }

        // Sequences start at 1, so a view's Min of 0 means the view is empty (Count would walk it).
        var first = _order.GetViewBetween(after + 1, upTo).Min;
        if (first == 0)
        {
            return false;
        }

        r = _entries[first];
        return true;
    }

    /// <summary>Every live batch.</summary>
    public IEnumerable<RecordInfo> All() => _entries.Values;

    /// <summary>Sequences of the live batches in <paramref name="segmentId"/>.</summary>
    public List<ulong> InSegment(ulong segmentId) =>
        _entries.Values.Where(e => e.SegmentId == segmentId).Select(e => e.Sequence).ToList();
}
