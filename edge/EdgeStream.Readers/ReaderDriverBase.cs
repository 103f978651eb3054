using EdgeStream.Contracts;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers;

/// <summary>
/// What every driver shares: its id, validated settings, logger and counters, the supervised
/// reconnect loop around its session, and the counted rejected-frame event. A driver supplies
/// only its session.
/// </summary>
public abstract class ReaderDriverBase : IReaderDriver
{
    /// <summary>Stores the id, validates the settings and creates the reader's counters.</summary>
    private protected ReaderDriverBase(string readerId, ReaderSettings settings, ILogger logger)
    {
        ReaderId = readerId;
        Settings = settings.Validate();
        Logger = logger;
        Counters = new ReaderCounters(readerId);
    }

    /// <inheritdoc/>
    public string ReaderId { get; }

    /// <summary>Counters for this reader.</summary>
    public ReaderCounters Counters { get; }

    /// <summary>The validated settings.</summary>
    private protected ReaderSettings Settings { get; }

    /// <summary>The driver's logger.</summary>
    private protected ILogger Logger { get; }

    /// <inheritdoc/>
    public Task RunAsync(IReadSink sink, CancellationToken cancellationToken) =>
        Reconnect.RunAsync(ReaderId, Settings, sink, Counters, Logger, (state, ct) => SessionAsync(sink, state, ct), cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return default;
    }

    /// <summary>One connection: open, configure, stream reads until the link fails (throws) or <paramref name="ct"/> is cancelled.</summary>
    private protected abstract Task SessionAsync(IReadSink sink, SessionState state, CancellationToken ct);

    /// <summary>Counts a discarded frame and reports it as a <see cref="ReaderEventKind.FrameRejected"/> event.</summary>
    private protected void RaiseRejected(IReadSink sink, string text)
    {
        Counters.Rejected();
        sink.OnEvent(new ReaderEvent(ReaderId, ReaderEventKind.FrameRejected, text, EventTimes.NowUs()));
    }
}
