using EdgeStream.Contracts;
using EdgeStream.Outbox.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Outbox;

/// <summary>A batch waiting in the outbox for the broker.</summary>
public readonly record struct PendingBatch
{
    internal PendingBatch(RecordInfo record) => Record = record;

    internal RecordInfo Record { get; }

    /// <summary>Per-gateway sequence.</summary>
    public ulong Sequence => Record.Sequence;

    /// <summary>Data class (and so topic).</summary>
    public DataClass Class => Record.Class;

    /// <summary>Records in the batch.</summary>
    public int Count => Record.Count;

    /// <summary>When the batch was sealed, µs since the Unix epoch.</summary>
    public long CreatedUs => Record.CreatedUs;

    /// <summary>Encoded size in bytes.</summary>
    public int Length => Record.Length;
}

/// <summary>The read side the uplink drains.</summary>
public sealed partial class Outbox
{
    /// <summary>A task that completes the next time batches are added or released; take it before looking, then wait on it.</summary>
    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>The waiting batch of <paramref name="dataClass"/> with the lowest sequence in (<paramref name="after"/>, <paramref name="upTo"/>].</summary>
    public bool TryGetNext(DataClass dataClass, ulong after, ulong upTo, out PendingBatch batch)
    {
        lock (_gate)
        {
            var found = QueueFor(dataClass).TryFirstAfter(after, upTo, out var r);
            batch = new PendingBatch(r);
            return found;
        }
    }

    /// <summary>
    /// The batch's encoded bytes (a <see cref="Contracts.Wire.BatchCodec"/> payload), or null when it is no
    /// longer waiting (released, or given up by the overflow policy) or its bytes failed their checksum;
    /// a corrupt batch is given up here, counted and logged.
    /// </summary>
    public byte[]? ReadPayload(in PendingBatch batch)
    {
        var r = batch.Record;
        var payload = LogFor(r.Class).ReadPayload(r.SegmentId, r.Offset, r.Length, r.Sequence);
        if (payload is not null)
        {
            return payload;
        }

        bool stillWaiting;
        lock (_gate)
        {
            stillWaiting = QueueFor(r.Class).Remove(r.Sequence, out _);
        }

        if (stillWaiting)
        {
            _acked.Enqueue(r.Sequence);
            CountDropped(r.Class, r.Count, "corrupt");
            _logger.LogError("Outbox: batch {Sequence} ({Count} {Class}) could not be read back intact from disk and is given up.", r.Sequence, r.Count, OutboxMetrics.ClassLabel(r.Class));
        }

        return null;
    }

    /// <summary>Releases a batch after the broker acknowledged it. Unknown sequences are ignored (already released or dropped).</summary>
    public void Acknowledge(DataClass dataClass, ulong sequence)
    {
        bool removed;
        RecordInfo r;
        lock (_gate)
        {
            removed = QueueFor(dataClass).Remove(sequence, out r);
        }

        if (!removed)
        {
            return;
        }

        _acked.Enqueue(sequence);
        Interlocked.Increment(ref _ackedBatches);
        _metrics?.Acked(r.Length);
        if (Volatile.Read(ref _disposed) == 0 && Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (ObjectDisposedException)
            {
                // Closing: the release is recorded in the index at the next start.
            }
        }

        SignalChanged();
    }
}
