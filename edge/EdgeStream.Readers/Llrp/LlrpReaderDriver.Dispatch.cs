using EdgeStream.Contracts;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers.Llrp;

public sealed partial class LlrpReaderDriver
{
    private async ValueTask DispatchAsync(Link link, LlrpMessage message, CancellationToken cancellationToken)
    {
        switch (message.Header.Type)
        {
            case LlrpMessageType.ROAccessReport:
                await DeliverReportAsync(link, message, cancellationToken);
                break;
            case LlrpMessageType.Keepalive:
                var id = message.Header.MessageId;
                await SendAsync(link, w => LlrpEncoder.Empty(w, LlrpMessageType.KeepaliveAck, id), cancellationToken);
                Counters.KeepaliveAcknowledged();
                break;
            case LlrpMessageType.ReaderEventNotification:
                ReaderEventNotificationData data;
                try
                {
                    data = LlrpDecoder.DecodeReaderEventNotification(message.Body);
                }
                catch (LlrpFormatException ex)
                {
                    Reject(link, "READER_EVENT_NOTIFICATION", ex);
                    break;
                }

                Surface(link, data);
                if (data.ConnectionCloseEvent is not null)
                {
                    throw new ReaderLinkException($"LLRP reader {_host}:{_port} is closing the connection.");
                }

                break;
            case LlrpMessageType.ErrorMessage:
                var status = TryStatus(message);
                var text = $"LLRP reader {_host}:{_port} reported an error for message {message.Header.MessageId}: {status}";
                Logger.LogWarning("Reader {Reader}: {Text}", ReaderId, text);
                link.Sink.OnEvent(new ReaderEvent(ReaderId, ReaderEventKind.Error, text, EventTimes.NowUs()));
                break;
            default:
                Logger.LogDebug("Reader {Reader}: ignoring {Type} (id {Id}).", ReaderId, message.Header.Type, message.Header.MessageId);
                break;
        }
    }

    private async ValueTask DeliverReportAsync(Link link, LlrpMessage message, CancellationToken cancellationToken)
    {
        var count = 0;
        try
        {
            var reader = new RoAccessReportReader(message.Body);
            var arrivalUs = 0L;
            while (reader.TryRead(out var tag))
            {
                if (count == _batch.Length)
                {
                    Array.Resize(ref _batch, _batch.Length * 2);
                }

                long eventTimeUs;
                if (tag.FirstSeenUtc != 0)
                {
                    eventTimeUs = (long)tag.FirstSeenUtc;
                }
                else
                {
                    if (arrivalUs == 0)
                    {
                        arrivalUs = EventTimes.NowUs();
                    }

                    eventTimeUs = arrivalUs;
                }

                _batch[count++] = new TagRead
                {
                    Epc = tag.Epc,
                    ReaderId = ReaderId,
                    Antenna = tag.AntennaId,
                    RssiCentiDbm = tag.RssiCentiDbm,
                    EventTimeUs = eventTimeUs,
                    Source = SourceKind.Llrp,
                    SeenCount = Math.Max((ushort)1, tag.TagSeenCount),
                };
            }
        }
        catch (LlrpFormatException ex)
        {
            // The frame boundary is intact (the header's length was honoured), so only this report is
            // lost: count it, say so, and keep the connection.
            Reject(link, "RO_ACCESS_REPORT", ex);
            return;
        }

        if (count > 0)
        {
            await link.Sink.WriteAsync(_batch.AsMemory(0, count), cancellationToken);
            Counters.AddReads(count);
        }
    }

    private void Reject(Link link, string what, LlrpFormatException ex)
    {
        var text = $"Malformed {what} from {_host}:{_port} discarded: {ex.Message}";
        Logger.LogWarning("Reader {Reader}: {Text}", ReaderId, text);
        RaiseRejected(link.Sink, text);
    }

    private void Surface(Link link, ReaderEventNotificationData data)
    {
        var at = data.UtcTimestamp is { } utc ? (long)utc : EventTimes.NowUs();
        void Note(string text)
        {
            Logger.LogInformation("Reader {Reader}: {Text}", ReaderId, text);
            link.Sink.OnEvent(new ReaderEvent(ReaderId, ReaderEventKind.Notification, text, at));
        }

        if (data.AntennaEvent is { } antenna)
        {
            Note($"antenna {antenna.AntennaId} {(antenna.EventType == 1 ? "connected" : "disconnected")}");
        }

        if (data.ROSpecEvent is { } ro)
        {
            Note($"ROSpec {ro.ROSpecId} {ro.EventType switch { 0 => "started", 1 => "ended", 2 => $"preempted by {ro.PreemptingROSpecId}", _ => $"event {ro.EventType}" }}");
        }

        if (data.ReportBufferLevelWarningEvent is { } warn)
        {
            Note($"report buffer {warn.ReportBufferPercentageFull}% full");
        }

        if (data.ReportBufferOverflowErrorEvent is not null)
        {
            Note("report buffer overflowed: the reader dropped reports");
        }

        if (data.ReaderExceptionEvent is { } ex)
        {
            Note($"reader exception: {ex.Message}");
        }

        if (data.ConnectionAttemptEvent is { Status: ConnectionAttemptStatus.AnotherConnectionAttempted })
        {
            Note("another client tried to connect");
        }

        if (data.ConnectionCloseEvent is not null)
        {
            Note("reader is closing the connection");
        }
    }

    private static string TryStatus(LlrpMessage message)
    {
        try
        {
            return LlrpDecoder.DecodeStatusResponse(message.Body).LlrpStatus.Describe();
        }
        catch (LlrpFormatException ex)
        {
            return $"(malformed status: {ex.Message})";
        }
    }
}
