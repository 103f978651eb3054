using EdgeStream.Contracts;
using EdgeStream.Outbox;

namespace EdgeStream.Edge.Pipeline;

/// <summary>
/// What happens to reads between the drivers and the outbox. The default stage stores raw reads
/// as <see cref="DataClass.Reads"/>; edge windowing replaces it with a stage that turns reads into
/// <see cref="PresenceEvent"/>s (<see cref="IOutboxWriter.AppendEventsAsync"/>) and, if configured,
/// keeps the raw reads too. Called concurrently by every driver; must apply backpressure by awaiting.
/// </summary>
public interface IReadStage
{
    /// <summary>Processes one group of reads from one driver. The memory is valid only during the call.</summary>
    ValueTask ProcessAsync(ReadOnlyMemory<TagRead> reads, IOutboxWriter outbox, CancellationToken cancellationToken);
}

/// <summary>The default stage: every read goes to the outbox as a raw read.</summary>
public sealed class RawReadsStage : IReadStage
{
    /// <inheritdoc/>
    public ValueTask ProcessAsync(ReadOnlyMemory<TagRead> reads, IOutboxWriter outbox, CancellationToken cancellationToken) =>
        outbox.AppendReadsAsync(reads, cancellationToken);
}
