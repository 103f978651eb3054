using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers.Serial;

/// <summary>
/// The session every driver on a serial line shares: open the device, read it through a pipe, and
/// on the way out complete the pipe and close the device, so the reconnect loop reopens it cleanly.
/// A driver supplies what it writes and reads on the open line.
/// </summary>
public abstract class SerialReaderDriver : ReaderDriverBase
{
    private readonly int _pipeBufferSize;
    private readonly string _deviceKind;

    /// <summary>Creates the driver for <paramref name="link"/>; <paramref name="deviceKind"/> names it in messages.</summary>
    private protected SerialReaderDriver(ISerialLink link, string readerId, ReaderSettings settings, ILogger logger, string deviceKind, int pipeBufferSize)
        : base(readerId, settings, logger)
    {
        Link = link;
        _deviceKind = deviceKind;
        _pipeBufferSize = pipeBufferSize;
    }

    /// <summary>The serial device.</summary>
    private protected ISerialLink Link { get; }

    /// <inheritdoc/>
    private protected sealed override async Task SessionAsync(IReadSink sink, SessionState state, CancellationToken ct)
    {
        await using var stream = Link.Open();
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: _pipeBufferSize, leaveOpen: true));
        try
        {
            await StreamAsync(stream, reader, sink, state, ct);
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>Works the open line: writes to <paramref name="stream"/>, reads from <paramref name="reader"/>, until it fails or is cancelled.</summary>
    private protected abstract Task StreamAsync(Stream stream, PipeReader reader, IReadSink sink, SessionState state, CancellationToken ct);

    /// <summary>The failure for a device whose stream ended.</summary>
    private protected ReaderLinkException DeviceClosed() => new($"{_deviceKind} device {Link.Name} closed.");
}

/// <summary>
/// A serial module that answers in checked frames: each frame must arrive within the read timeout
/// or the line is declared dead. A driver supplies how frames are found in the bytes.
/// </summary>
public abstract class FramedSerialReaderDriver : SerialReaderDriver
{
    private readonly string _silence;

    /// <summary>Creates the driver; <paramref name="silence"/> says what went missing, e.g. "R2000 module on /dev/ttyUSB0 sent no frame".</summary>
    private protected FramedSerialReaderDriver(ISerialLink link, string readerId, ReaderSettings settings, ILogger logger, string deviceKind, int pipeBufferSize, string silence)
        : base(link, readerId, settings, logger, deviceKind, pipeBufferSize)
    {
        _silence = silence;
    }

    /// <summary>
    /// Reads until <see cref="TryReadFrame"/> finds a frame and returns its length. The wait for bytes is
    /// bounded by the read timeout; past it, or when the device closes, the link fails. Frames usually
    /// arrive several to a read, so what is already buffered is looked at before a time-out is armed.
    /// </summary>
    private protected async ValueTask<int> NextFrameAsync(PipeReader reader, IReadSink sink, CancellationToken ct)
    {
        if (reader.TryRead(out var buffered) && Take(reader, buffered, sink, out var length))
        {
            return length;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Settings.SerialReadTimeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new ReaderLinkException($"{_silence} for {Settings.SerialReadTimeout.TotalSeconds:0.###} s: link declared dead.");
            }

            if (Take(reader, result, sink, out length))
            {
                return length;
            }
        }
    }

    /// <summary>Looks for a frame in what one read returned and advances the reader past what was used; throws when the device closed.</summary>
    private bool Take(PipeReader reader, ReadResult result, IReadSink sink, out int length)
    {
        var buffer = result.Buffer;
        var found = TryReadFrame(ref buffer, sink, out length);
        reader.AdvanceTo(buffer.Start, found ? buffer.Start : buffer.End);
        if (!found && result.IsCompleted)
        {
            throw DeviceClosed();
        }

        return found;
    }

    /// <summary>
    /// Looks for one frame in <paramref name="buffer"/>, copying it to the driver's frame buffer;
    /// moves <paramref name="buffer"/> past what was consumed and reports what was discarded.
    /// </summary>
    private protected abstract bool TryReadFrame(ref ReadOnlySequence<byte> buffer, IReadSink sink, out int length);
}
