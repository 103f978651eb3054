using EdgeStream.Contracts;
using EdgeStream.Outbox.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Outbox;

/// <summary>
/// Which segments of the outbox's two logs can go, and what giving them up costs. Three rules, run by
/// the writer once a second: a segment every batch of which was acknowledged is deleted; batches older
/// than <see cref="OutboxOptions.MaxAge"/> are given up, oldest first; and while the logs together hold
/// more than <see cref="OutboxOptions.MaxBytes"/>, whole segments are given up, oldest first, of the
/// class whose <see cref="DataClassOptions.DropOrder"/> comes first. Every batch given up is counted as
/// dropped (reason <c>age</c> or <c>overflow</c>) and logged, and its sequence is queued on
/// <c>removed</c> so the index forgets it.
/// </summary>
internal sealed class SegmentRetention
{
    private readonly OutboxOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly object _gate;
    // The two logs with their queues, the class that is given up first first.
    private readonly (SegmentLog Log, ClassQueue Queue)[] _byDropOrder;
    private readonly Action<ulong> _removed;
    private readonly Action<DataClass, long, string> _dropped;

    /// <param name="gate">The outbox's lock over the queues and the logs' segment lists.</param>
    /// <param name="removed">Told each sequence that left a queue here, for the index.</param>
    /// <param name="dropped">Told each class, count and reason of records given up.</param>
    public SegmentRetention(
        OutboxOptions options,
        ILogger logger,
        TimeProvider time,
        object gate,
        (SegmentLog Log, ClassQueue Queue) reads,
        (SegmentLog Log, ClassQueue Queue) presence,
        Action<ulong> removed,
        Action<DataClass, long, string> dropped)
    {
        _options = options;
        _logger = logger;
        _time = time;
        _gate = gate;
        _byDropOrder = options.Reads.DropOrder <= options.Presence.DropOrder ? [reads, presence] : [presence, reads];
        _removed = removed;
        _dropped = dropped;
    }

    /// <summary>
    /// Applies the three rules; returns whether any segment was deleted. <paramref name="nextSequence"/>
    /// starts the segment that replaces an active one given up for space.
    /// </summary>
    public bool Sweep(ulong nextSequence)
    {
        var now = EventTimes.NowUs(_time);
        var freed = false;
        foreach (var (log, q) in _byDropOrder)
        {
            DropAged(log, q, now);
            freed |= ReleaseAcknowledged(log, q);
        }

        while (_byDropOrder[0].Log.TotalBytes + _byDropOrder[1].Log.TotalBytes > _options.MaxBytes)
        {
            if (!DropOldestSegment(nextSequence))
            {
                break;
            }

            freed = true;
        }

        return freed;
    }

    private void DropAged(SegmentLog log, ClassQueue q, long now)
    {
        long aged = 0;
        var agedBatches = 0;
        lock (_gate)
        {
            while (q.TryOldest(out var oldest) && now - oldest.CreatedUs > (long)_options.MaxAge.TotalMicroseconds)
            {
                q.Remove(oldest.Sequence, out _);
                _removed(oldest.Sequence);
                aged += oldest.Count;
                agedBatches++;
            }
        }

        if (aged > 0)
        {
            _dropped(log.Class, aged, "age");
            _logger.LogWarning("Outbox: dropped {Count} {Class} in {Batches} batches older than outbox-max-age ({MaxAge}).", aged, OutboxMetrics.ClassLabel(log.Class), agedBatches, _options.MaxAge);
        }
    }

    /// <summary>Gives up the oldest segment of the class that goes first; false when nothing can go or the delete failed.</summary>
    private bool DropOldestSegment(ulong nextSequence)
    {
        var (victim, q) = Array.Find(_byDropOrder, c => c.Log.SegmentIds.Count > 1 || c.Log.SegmentEnd(c.Log.ActiveSegmentId) > 0);
        if (victim is null)
        {
            return false;
        }

        var oldestId = victim.SegmentIds.First();
        if (oldestId == victim.ActiveSegmentId)
        {
            victim.RollNow(nextSequence);
        }

        long lost = 0;
        var batches = 0;
        lock (_gate)
        {
            foreach (var seq in q.InSegment(oldestId))
            {
                if (q.Remove(seq, out var r))
                {
                    _removed(seq);
                    lost += r.Count;
                    batches++;
                }
            }
        }

        long bytes;
        try
        {
            lock (_gate)
            {
                bytes = victim.DeleteSegment(oldestId);
            }
        }
        catch (IOException ex)
        {
            _logger.LogError("Outbox: could not delete {Segment}: {Error}", oldestId, ex.Message);
            return false;
        }

        _dropped(victim.Class, lost, "overflow");
        _logger.LogWarning(
            "Outbox over outbox-max-bytes ({MaxBytes}): dropped {Count} {Class} in {Batches} batches (segment of {Bytes} bytes, oldest first).",
            _options.MaxBytes, lost, OutboxMetrics.ClassLabel(victim.Class), batches, bytes);
        return true;
    }

    /// <summary>Deletes the sealed segments of a log that hold no batch still waiting.</summary>
    private bool ReleaseAcknowledged(SegmentLog log, ClassQueue q)
    {
        var freed = false;
        foreach (var id in log.SegmentIds.ToList())
        {
            bool live;
            lock (_gate)
            {
                live = id == log.ActiveSegmentId || q.HasLive(id);
            }

            if (live)
            {
                continue;
            }

            try
            {
                lock (_gate)
                {
                    log.DeleteSegment(id);
                }

                freed = true;
            }
            catch (IOException ex)
            {
                _logger.LogError("Outbox: could not delete a released segment: {Error}", ex.Message);
            }
        }

        return freed;
    }
}
