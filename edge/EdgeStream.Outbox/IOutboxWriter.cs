using EdgeStream.Contracts;

namespace EdgeStream.Outbox;

/// <summary>
/// The write side of the outbox, as the daemon's pipeline sees it. Appends return once the data is
/// queued for the next group commit (producers wait when the queue is full); data is accepted, and
/// survives a crash or a power cut, once that commit has synced it to disk.
/// </summary>
public interface IOutboxWriter
{
    /// <summary>Queues reads for the next group commit. The memory is copied before the call returns.</summary>
    ValueTask AppendReadsAsync(ReadOnlyMemory<TagRead> reads, CancellationToken cancellationToken);

    /// <summary>Queues presence events for the next group commit. The memory is copied before the call returns.</summary>
    ValueTask AppendEventsAsync(ReadOnlyMemory<PresenceEvent> events, CancellationToken cancellationToken);

    /// <summary>
    /// Commits now and completes when everything appended before the call is on disk (accepted);
    /// faults with the storage error when that commit failed (the data was not accepted).
    /// </summary>
    Task FlushAsync(CancellationToken cancellationToken);
}
