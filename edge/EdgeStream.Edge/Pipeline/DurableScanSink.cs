using EdgeStream.Contracts;
using EdgeStream.Outbox;
using EdgeStream.Readers;

namespace EdgeStream.Edge.Pipeline;

/// <summary>
/// Where handheld scans (<c>POST /api/scans</c>) go: straight into the outbox's Reads class, then a
/// commit, so the app's 200 means the scan is on disk. A scan is a deliberate act by a person, not a
/// radio sighting: it bypasses windowing and is never summarised away.
/// </summary>
public sealed class DurableScanSink(IOutboxWriter outbox, IReadSink events) : IReadSink
{
    /// <inheritdoc/>
    public async ValueTask WriteAsync(ReadOnlyMemory<TagRead> reads, CancellationToken cancellationToken)
    {
        await outbox.AppendReadsAsync(reads, cancellationToken).ConfigureAwait(false);
        await outbox.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void OnEvent(ReaderEvent readerEvent) => events.OnEvent(readerEvent);
}
