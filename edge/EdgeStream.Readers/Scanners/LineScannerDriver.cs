using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using EdgeStream.Contracts;
using EdgeStream.Readers.Serial;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers.Scanners;

/// <summary>
/// A line-oriented scanner (barcode or RFID handheld in serial/USB-CDC mode): one code per line,
/// CR, LF or CRLF terminated. Each good line becomes a read with source <see cref="SourceKind.Scanner"/>
/// and the configured operator; bad lines (not printable, too long) are rejected with a reason and
/// counted. Scanners are silent for hours, so there is no read deadline; a device that disappears is
/// reopened with backoff.
/// </summary>
public sealed class LineScannerDriver : SerialReaderDriver
{
    /// <summary>The longest line accepted; longer ones are discarded up to their end.</summary>
    public const int MaxLineLength = 256;

    private readonly List<TagRead> _pending = [];

    /// <summary>Creates a driver; nothing opens until <see cref="RunAsync"/>.</summary>
    public LineScannerDriver(ISerialLink link, string readerId, ReaderSettings settings, ILogger<LineScannerDriver> logger)
        : base(link, readerId, settings, logger, "Scanner", pipeBufferSize: -1)
    {
    }

    private protected override async Task StreamAsync(Stream stream, PipeReader reader, IReadSink sink, SessionState state, CancellationToken ct)
    {
        state.ReportConnected($"Scanner on {Link.Name} is open.");
        var discarding = false;
        while (true)
        {
            var result = await reader.ReadAsync(ct);
            var buffer = result.Buffer;
            _pending.Clear();
            buffer = SplitLines(buffer, sink, ref discarding);
            if (_pending.Count > 0)
            {
                await sink.WriteAsync(_pending.ToArray(), ct);
                Counters.AddReads(_pending.Count);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw DeviceClosed();
            }
        }
    }

    private ReadOnlySequence<byte> SplitLines(ReadOnlySequence<byte> buffer, IReadSink sink, ref bool discarding)
    {
        var lines = new SequenceReader<byte>(buffer);
        while (lines.TryReadToAny(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: true))
        {
            if (discarding)
            {
                discarding = false;
                continue;
            }

            if (line.Length > 0)
            {
                HandleLine(line, sink);
            }
        }

        buffer = buffer.Slice(lines.Position);
        if (buffer.Length > MaxLineLength)
        {
            if (!discarding)
            {
                Reject(sink, $"line longer than {MaxLineLength} bytes discarded");
                discarding = true;
            }

            buffer = buffer.Slice(buffer.End);
        }

        return buffer;
    }

    private void HandleLine(ReadOnlySequence<byte> line, IReadSink sink)
    {
        if (line.Length > MaxLineLength)
        {
            Reject(sink, $"line longer than {MaxLineLength} bytes discarded");
            return;
        }

        Span<byte> bytes = stackalloc byte[(int)line.Length];
        line.CopyTo(bytes);
        Span<char> chars = stackalloc char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = bytes[i] < 0x80 ? (char)bytes[i] : '\uFFFD';
        }

        if (chars.Trim().IsEmpty)
        {
            return;
        }

        if (!ScanParser.TryParse(chars, out var epc, out var error))
        {
            Reject(sink, $"scanner line rejected: {error}");
            return;
        }

        _pending.Add(new TagRead
        {
            Epc = epc,
            ReaderId = ReaderId,
            Antenna = 0,
            RssiCentiDbm = TagRead.NoRssi,
            EventTimeUs = EventTimes.NowUs(),
            Source = SourceKind.Scanner,
            SeenCount = 1,
            OperatorId = Settings.OperatorId,
            Zone = Settings.Zone,
        });
    }

    private void Reject(IReadSink sink, string text)
    {
        Logger.LogWarning("Scanner {Reader}: {Text}", ReaderId, text);
        RaiseRejected(sink, text);
    }
}
