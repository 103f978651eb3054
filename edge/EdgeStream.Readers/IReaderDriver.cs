using EdgeStream.Contracts;

namespace EdgeStream.Readers;

/// <summary>What a reader driver reports besides reads: link state, reader notifications, errors.</summary>
public enum ReaderEventKind
{
    /// <summary>Connected and configured; reads will flow.</summary>
    Connected,

    /// <summary>The link dropped or was declared dead; the driver will reconnect.</summary>
    Disconnected,

    /// <summary>The reader refused the connection or the configuration; the driver retries.</summary>
    Error,

    /// <summary>A notification from the reader (antenna connected/disconnected, ROSpec events, buffer warnings).</summary>
    Notification,

    /// <summary>Bytes from the device were not a valid frame and were discarded (counted).</summary>
    FrameRejected,
}

/// <summary>A non-read event from a driver, surfaced to logs, metrics and the gateway status.</summary>
public sealed record ReaderEvent(string ReaderId, ReaderEventKind Kind, string Message, long TimeUs);

/// <summary>Where a driver delivers what it reads. Implementations apply backpressure by awaiting.</summary>
public interface IReadSink
{
    /// <summary>Accepts a group of reads. The memory is only valid during the call.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<TagRead> reads, CancellationToken cancellationToken);

    /// <summary>Reports a non-read event. Must not block.</summary>
    void OnEvent(ReaderEvent readerEvent);
}

/// <summary>
/// A connection to one reader: connects, configures, streams reads into a sink, and on any failure
/// reports it, backs off and reconnects until cancelled.
/// </summary>
public interface IReaderDriver : IAsyncDisposable
{
    /// <summary>The reader's configured id, stamped on every read.</summary>
    string ReaderId { get; }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; returns after a clean shutdown of the link.</summary>
    Task RunAsync(IReadSink sink, CancellationToken cancellationToken);
}
