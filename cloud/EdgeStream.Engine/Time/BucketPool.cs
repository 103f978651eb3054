using System.Diagnostics.CodeAnalysis;

namespace EdgeStream.Engine.Time;

/// <summary>
/// Spare buckets of a calendar queue (the reorder buffer's, the timer calendar's), reused rather than
/// collected. Between two drains (one per batch read) a sparse stream fills many buckets with a few
/// entries each, and a drain can empty all of them at once: the pool must hold that many for the next
/// batch, or every batch allocates afresh. It never holds more buckets than were alive together, so it
/// does not raise the queue's peak memory. The owner resets a bucket it takes and clears what it returns.
/// </summary>
internal sealed class BucketPool<TBucket>
    where TBucket : class
{
    private const int MaxPooledBuckets = 1024;
    private readonly Stack<TBucket> _free = new();

    /// <summary>Takes a spare bucket; false when there is none (the owner allocates one).</summary>
    public bool TryTake([MaybeNullWhen(false)] out TBucket bucket) => _free.TryPop(out bucket);

    /// <summary>Keeps a bucket for reuse, unless the pool is full.</summary>
    public void Return(TBucket bucket)
    {
        if (_free.Count < MaxPooledBuckets)
        {
            _free.Push(bucket);
        }
    }
}
