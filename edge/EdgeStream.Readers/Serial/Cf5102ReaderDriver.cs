using System.Buffers;
using System.IO.Pipelines;
using EdgeStream.Contracts;
using EdgeStream.SerialProtocols.Chafon;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers.Serial;

/// <summary>
/// A driver for Chafon CF-RU5102 desktop/integrated readers (UHFReader18 protocol): polls with the
/// Gen2 inventory command and turns each answer's EPC list into reads (single antenna, no RSSI in
/// this protocol). Frames failing their CRC are counted and skipped; a silent line is declared dead
/// and reopened with backoff.
/// </summary>
public sealed class Cf5102ReaderDriver : FramedSerialReaderDriver
{
    private readonly byte[] _frame = new byte[Cf5102Codec.MaxFrameLength];
    private readonly Epc[] _epcs = new Epc[256];
    private readonly TagRead[] _batch = new TagRead[256];
    private readonly byte[] _poll;
    private readonly string _answering;
    private long _rejected;

    /// <summary>Creates a driver; nothing opens until <see cref="RunAsync"/>.</summary>
    public Cf5102ReaderDriver(ISerialLink link, string readerId, ReaderSettings settings, ILogger<Cf5102ReaderDriver> logger)
        : base(link, readerId, settings, logger, "CF-RU5102", pipeBufferSize: 1024, $"CF-RU5102 reader on {link.Name} sent no answer")
    {
        _poll = Cf5102Codec.Command(Settings.SerialAddress, Cf5102Command.Inventory);
        _answering = $"CF-RU5102 reader on {link.Name} answers inventory polls.";
    }

    private protected override async Task StreamAsync(Stream stream, PipeReader reader, IReadSink sink, SessionState state, CancellationToken ct)
    {
        while (true)
        {
            await stream.WriteAsync(_poll, ct);
            await PollAsync(reader, sink, ct);
            state.ReportConnected(_answering);
        }
    }

    private async Task PollAsync(PipeReader reader, IReadSink sink, CancellationToken ct)
    {
        while (true)
        {
            var length = await NextFrameAsync(reader, sink, ct);
            var frame = _frame.AsSpan(0, length);
            if (Cf5102Codec.AnsweredCommand(frame) != Cf5102Command.Inventory)
            {
                continue;
            }

            var status = Cf5102Codec.Status(frame);
            if (status == Cf5102Command.StatusNoTag)
            {
                return;
            }

            if (status is not (Cf5102Command.StatusDone or Cf5102Command.StatusTimeout or Cf5102Command.StatusMore or Cf5102Command.StatusMemoryFull))
            {
                sink.OnEvent(new ReaderEvent(ReaderId, ReaderEventKind.Notification, $"CF-RU5102 inventory status 0x{status:X2}.", EventTimes.NowUs()));
                return;
            }

            if (!Cf5102Codec.TryReadInventory(frame, _epcs, out var count))
            {
                RaiseRejected(sink, "CF-RU5102 inventory answer whose EPC counts disagree with its length discarded.");
            }
            else if (count > 0)
            {
                var now = EventTimes.NowUs();
                for (var i = 0; i < count; i++)
                {
                    _batch[i] = new TagRead
                    {
                        Epc = _epcs[i],
                        ReaderId = ReaderId,
                        Antenna = 1,
                        RssiCentiDbm = TagRead.NoRssi,
                        EventTimeUs = now,
                        Source = SourceKind.Serial,
                        SeenCount = 1,
                    };
                }

                await sink.WriteAsync(_batch.AsMemory(0, count), ct);
                Counters.AddReads(count);
            }

            if (status != Cf5102Command.StatusMore)
            {
                return;
            }
        }
    }

    private protected override bool TryReadFrame(ref ReadOnlySequence<byte> buffer, IReadSink sink, out int length)
    {
        var before = _rejected;
        var found = Cf5102Codec.TryReadFrame(ref buffer, _frame, out length, ref _rejected, Cf5102Command.Inventory);
        if (_rejected != before)
        {
            RaiseRejected(sink, $"{_rejected - before} byte(s) that were not a valid CF-RU5102 frame discarded.");
        }

        return found;
    }
}
