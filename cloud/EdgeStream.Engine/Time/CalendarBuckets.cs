namespace EdgeStream.Engine.Time;

/// <summary>A bucket of a calendar queue: the entries of one slice of time, <see cref="Head"/> to <see cref="Tail"/>.</summary>
internal abstract class CalendarBucket
{
    public long Id;
    public int Head;
    public int Tail;

    /// <summary>Sorted once, when it is first released; later entries are inserted in place.</summary>
    public bool Sorted;

    /// <summary>Makes the bucket empty for a new id (the base fields are reset by the owner).</summary>
    public virtual void Reset()
    {
    }

    /// <summary>Lets go of what the bucket still references before it is kept for reuse.</summary>
    public virtual void Recycle()
    {
    }
}

/// <summary>
/// The bucket bookkeeping the calendar queues (the reorder buffer, the timer calendar) share: live buckets
/// by id, the order they are released in, the one being released (<see cref="Current"/>), and spare buckets.
/// </summary>
/// <remarks>
/// Spare buckets are reused rather than collected. Between two drains (one per batch read) a sparse stream
/// fills many buckets with a few entries each, and a drain can empty all of them at once: the spares must
/// cover that many for the next batch, or every batch allocates afresh. No more are kept than were alive
/// together, so reuse does not raise the queue's peak memory.
/// </remarks>
internal sealed class CalendarBuckets<TBucket>
    where TBucket : CalendarBucket, new()
{
    private const int MaxSpareBuckets = 1024;
    private readonly Dictionary<long, TBucket> _byId = [];
    private readonly PriorityQueue<TBucket, long> _waiting = new();
    private readonly Stack<TBucket> _spare = new();

    /// <summary>The bucket being released, taken from the waiting ones; null between two.</summary>
    public TBucket? Current;

    /// <summary>Every live bucket, in no particular order.</summary>
    public Dictionary<long, TBucket>.ValueCollection All => _byId.Values;

    public TBucket? Find(long id) => _byId.TryGetValue(id, out var b) ? b : null;

    /// <summary>
    /// Opens an empty bucket for <paramref name="id"/> (not live) and queues it for release. When it is earlier
    /// than the bucket being released, that one waits again, still sorted.
    /// </summary>
    public TBucket Open(long id)
    {
        var b = _spare.TryPop(out var spare) ? spare : new TBucket();
        b.Id = id;
        b.Head = 0;
        b.Tail = 0;
        b.Sorted = false;
        b.Reset();
        _byId.Add(id, b);
        if (Current is { } cur && id < cur.Id)
        {
            _waiting.Enqueue(cur, cur.Id);
            Current = null;
        }

        _waiting.Enqueue(b, id);
        return b;
    }

    /// <summary>The earliest waiting bucket, left waiting.</summary>
    public bool TryPeekWaiting(out TBucket bucket) => _waiting.TryPeek(out bucket!, out _);

    /// <summary>Takes the earliest waiting bucket.</summary>
    public bool TryDequeueWaiting(out TBucket bucket) => _waiting.TryDequeue(out bucket!, out _);

    /// <summary>The earliest waiting bucket, left waiting; throws when none waits.</summary>
    public TBucket PeekWaiting() => _waiting.Peek();

    /// <summary>Takes the earliest waiting bucket; throws when none waits.</summary>
    public TBucket DequeueWaiting() => _waiting.Dequeue();

    /// <summary>Forgets a bucket that is no longer waiting (emptied) and keeps it for reuse.</summary>
    public void Release(TBucket bucket)
    {
        _byId.Remove(bucket.Id);
        KeepSpare(bucket);
    }

    public void Clear()
    {
        foreach (var b in _byId.Values)
        {
            KeepSpare(b);
        }

        _byId.Clear();
        _waiting.Clear();
        Current = null;
    }

    private void KeepSpare(TBucket bucket)
    {
        bucket.Recycle();
        if (_spare.Count < MaxSpareBuckets)
        {
            _spare.Push(bucket);
        }
    }
}
