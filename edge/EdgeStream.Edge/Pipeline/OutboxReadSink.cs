using System.Diagnostics.Metrics;
using EdgeStream.Contracts;
using EdgeStream.Outbox;
using EdgeStream.Readers;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Edge.Pipeline;

/// <summary>The sink every driver writes to: reads go through the <see cref="IReadStage"/> into the outbox; events to logs and metrics.</summary>
public sealed partial class OutboxReadSink : IReadSink
{
    private readonly IReadStage _stage;
    private readonly IOutboxWriter _outbox;
    private readonly ILogger<OutboxReadSink> _logger;
    private readonly Counter<long> _events;

    /// <summary>Creates the sink.</summary>
    public OutboxReadSink(IReadStage stage, IOutboxWriter outbox, ILogger<OutboxReadSink> logger, OutboxMetrics metrics)
    {
        _stage = stage;
        _outbox = outbox;
        _logger = logger;
        _events = metrics.Meter.CreateCounter<long>("edgestream_edge_reader_events_total", description: "Reader link events by reader and kind.");
    }

    /// <inheritdoc/>
    public ValueTask WriteAsync(ReadOnlyMemory<TagRead> reads, CancellationToken cancellationToken) =>
        _stage.ProcessAsync(reads, _outbox, cancellationToken);

    /// <inheritdoc/>
    public void OnEvent(ReaderEvent readerEvent)
    {
        _events.Add(1, new KeyValuePair<string, object?>("reader", readerEvent.ReaderId), new KeyValuePair<string, object?>("kind", readerEvent.Kind.ToString()));
        if (readerEvent.Kind is ReaderEventKind.Error or ReaderEventKind.Disconnected or ReaderEventKind.FrameRejected)
        {
            LogReaderProblem(readerEvent.ReaderId, readerEvent.Kind, readerEvent.Message);
        }
        else
        {
            LogReaderEvent(readerEvent.ReaderId, readerEvent.Kind, readerEvent.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reader {ReaderId}: {Kind}: {Message}")]
    private partial void LogReaderProblem(string readerId, ReaderEventKind kind, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reader {ReaderId}: {Kind}: {Message}")]
    private partial void LogReaderEvent(string readerId, ReaderEventKind kind, string message);
}
