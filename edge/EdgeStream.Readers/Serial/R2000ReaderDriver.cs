using System.Buffers;
using System.IO.Pipelines;
using EdgeStream.Contracts;
using EdgeStream.SerialProtocols.R2000;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers.Serial;

/// <summary>
/// A driver for R2000-family UHF modules on a serial line. One antenna: set the work antenna (0x74)
/// and run real-time inventory (0x89) rounds back to back. Several antennas: fast antenna switching
/// (0x8A) over them. Noise and corrupted frames are counted and never become reads; a line silent
/// past the read timeout is declared dead and reopened with backoff.
/// </summary>
public sealed class R2000ReaderDriver : FramedSerialReaderDriver
{
    private readonly byte[] _frame = new byte[R2000Codec.MaxFrameLength];

    // Fixed by the settings: built once, sent every session (the work antenna) and every round (the inventory).
    private readonly byte[]? _setWorkAntenna;
    private readonly byte[] _inventory;
    private readonly string _inventorying;
    private TagRead[] _batch = new TagRead[64];
    private R2000StreamStats _stats;

    /// <summary>Creates a driver; nothing opens until <see cref="RunAsync"/>.</summary>
    public R2000ReaderDriver(ISerialLink link, string readerId, ReaderSettings settings, ILogger<R2000ReaderDriver> logger)
        : base(link, readerId, settings, logger, "R2000", pipeBufferSize: 4096, $"R2000 module on {link.Name} sent no frame")
    {
        if (Settings.Antennas.Any(a => a > 4))
        {
            throw new ArgumentException($"Reader setting 'antennas' = '{string.Join(',', Settings.Antennas)}' is invalid: an R2000 module has antennas 1..4.");
        }

        var address = Settings.SerialAddress;
        var antennas = Settings.Antennas.Count == 0 ? [(ushort)1] : Settings.Antennas.ToArray();
        if (antennas.Length == 1)
        {
            _setWorkAntenna = R2000Codec.Frame(address, R2000Command.SetWorkAntenna, (byte)(antennas[0] - 1));
            _inventory = R2000Codec.Frame(address, R2000Command.RealTimeInventory, Settings.InventoryRepeat);
        }
        else
        {
            // Four (antenna, stay) pairs; an antenna number above 3 switches that slot off.
            var data = new byte[10];
            for (var slot = 0; slot < 4; slot++)
            {
                var on = antennas.Contains((ushort)(slot + 1));
                data[slot * 2] = on ? (byte)slot : (byte)0xFF;
                data[(slot * 2) + 1] = 1;
            }

            data[8] = 0;
            data[9] = Settings.InventoryRepeat;
            _inventory = R2000Codec.Frame(address, R2000Command.FastSwitchAntennaInventory, data);
        }

        _inventorying = $"R2000 module on {link.Name} is inventorying antennas {string.Join(',', antennas)}.";
    }

    /// <summary>Bytes of line noise seen (outside any frame).</summary>
    public long NoiseBytes => Interlocked.Read(ref _stats.NoiseBytes);

    private protected override async Task StreamAsync(Stream stream, PipeReader reader, IReadSink sink, SessionState state, CancellationToken ct)
    {
        if (_setWorkAntenna is not null)
        {
            await stream.WriteAsync(_setWorkAntenna, ct);
            await ExpectAcknowledgementAsync(reader, sink, ct);
        }

        while (true)
        {
            await stream.WriteAsync(_inventory, ct);
            await RoundAsync(reader, sink, ct);
            state.ReportConnected(_inventorying);
        }
    }

    private async Task ExpectAcknowledgementAsync(PipeReader reader, IReadSink sink, CancellationToken ct)
    {
        while (true)
        {
            var length = await NextFrameAsync(reader, sink, ct);
            var frame = new R2000Frame(_frame.AsSpan(0, length));
            if (frame.Command != R2000Command.SetWorkAntenna)
            {
                continue;
            }

            if (frame.Data.Length >= 1 && frame.Data[0] == R2000Command.Success)
            {
                return;
            }

            throw new ReaderLinkException($"R2000 module on {Link.Name} refused the work antenna: error 0x{(frame.Data.IsEmpty ? 0 : frame.Data[0]):X2}.");
        }
    }

    /// <summary>Reads one inventory round's answers up to its end-of-round (or error) frame, delivering tag reads.</summary>
    private async Task RoundAsync(PipeReader reader, IReadSink sink, CancellationToken ct)
    {
        var count = 0;
        while (true)
        {
            var length = await NextFrameAsync(reader, sink, ct);
            var frame = new R2000Frame(_frame.AsSpan(0, length));
            if (!R2000Codec.TryDecodeInventory(frame, out var inv))
            {
                if (frame.Command is R2000Command.RealTimeInventory or R2000Command.FastSwitchAntennaInventory)
                {
                    RaiseRejected(sink, $"R2000 inventory frame with inconsistent content ({length} bytes) discarded.");
                }

                continue;
            }

            switch (inv.Kind)
            {
                case R2000InventoryKind.Tag:
                    if (count == _batch.Length)
                    {
                        Array.Resize(ref _batch, count * 2);
                    }

                    _batch[count++] = new TagRead
                    {
                        Epc = inv.Epc,
                        ReaderId = ReaderId,
                        Antenna = inv.Antenna,
                        RssiCentiDbm = (short)(inv.RssiDbm * 100),
                        EventTimeUs = EventTimes.NowUs(),
                        Source = SourceKind.Serial,
                        SeenCount = 1,
                    };
                    break;
                case R2000InventoryKind.EndOfRound:
                    await FlushAsync(sink, count, ct);
                    return;
                case R2000InventoryKind.Error:
                    await FlushAsync(sink, count, ct);
                    var text = inv.Antenna != 0
                        ? $"R2000 antenna {inv.Antenna} reports error 0x{inv.ErrorCode:X2} (0x22: antenna missing)."
                        : $"R2000 inventory error 0x{inv.ErrorCode:X2}.";
                    sink.OnEvent(new ReaderEvent(ReaderId, ReaderEventKind.Notification, text, EventTimes.NowUs()));
                    if (inv.Antenna == 0)
                    {
                        return;
                    }

                    count = 0;
                    break;
            }
        }
    }

    private async ValueTask FlushAsync(IReadSink sink, int count, CancellationToken ct)
    {
        if (count > 0)
        {
            await sink.WriteAsync(_batch.AsMemory(0, count), ct);
            Counters.AddReads(count);
        }
    }

    private protected override bool TryReadFrame(ref ReadOnlySequence<byte> buffer, IReadSink sink, out int length)
    {
        var corruptBefore = _stats.CorruptFrames;
        var noiseBefore = _stats.NoiseBytes;
        var found = R2000Codec.TryReadFrame(ref buffer, _frame, out length, ref _stats);
        for (var i = corruptBefore; i < _stats.CorruptFrames; i++)
        {
            RaiseRejected(sink, "R2000 frame with a bad length or checksum discarded.");
        }

        if (_stats.NoiseBytes != noiseBefore)
        {
            Logger.LogDebug("Reader {Reader}: skipped {Bytes} byte(s) of line noise.", ReaderId, _stats.NoiseBytes - noiseBefore);
        }

        return found;
    }
}
