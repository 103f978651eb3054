using System.Buffers;
using System.IO.Pipelines;

namespace EdgeStream.Llrp;

/// <summary>A whole LLRP message: its header and a copy of its body in a pooled buffer.</summary>
public sealed class LlrpMessage : IDisposable
{
    private byte[]? _buffer;

    internal LlrpMessage(LlrpHeader header, byte[] buffer)
    {
        Header = header;
        _buffer = buffer;
    }

    /// <summary>The header.</summary>
    public LlrpHeader Header { get; }

    /// <summary>The bytes after the header.</summary>
    public ReadOnlySpan<byte> Body => (_buffer ?? throw new ObjectDisposedException(nameof(LlrpMessage))).AsSpan(0, Header.BodyLength);

    /// <summary>Returns the body's buffer to the pool.</summary>
    public void Dispose()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b is not null)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}

/// <summary>
/// Cuts an LLRP byte stream into messages. TCP gives no message boundaries: a message may arrive in
/// several segments and one segment may hold several messages, so the framer buffers in the pipe
/// until the header's length is satisfied. A header that is not LLRP (wrong version, absurd length)
/// means the stream has lost its framing; there is no resynchronisation marker in LLRP, so that is
/// reported as <see cref="LlrpFormatException"/> and the connection must be dropped.
/// </summary>
public sealed class LlrpFramer
{
    private readonly PipeReader _reader;
    private readonly int _maxLength;

    /// <summary>Creates a framer over a pipe.</summary>
    public LlrpFramer(PipeReader reader, int maxMessageLength = LlrpHeader.DefaultMaxMessageLength)
    {
        _reader = reader;
        _maxLength = maxMessageLength;
    }

    /// <summary>Reads the next whole message; null when the peer closed the stream cleanly between messages.</summary>
    /// <exception cref="LlrpFormatException">Not an LLRP header, or the stream ended inside a message.</exception>
    public async ValueTask<LlrpMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryCut(ref buffer, out var message))
            {
                _reader.AdvanceTo(buffer.Start);
                return message;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var leftover = buffer.Length;
                _reader.AdvanceTo(buffer.End);
                if (leftover == 0)
                {
                    return null;
                }

                throw new LlrpFormatException($"LLRP stream ended inside a message ({leftover} byte(s) pending).");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool TryCut(ref ReadOnlySequence<byte> buffer, out LlrpMessage? message)
    {
        message = null;
        if (buffer.Length < LlrpHeader.Size)
        {
            return false;
        }

        Span<byte> headerBytes = stackalloc byte[LlrpHeader.Size];
        buffer.Slice(0, LlrpHeader.Size).CopyTo(headerBytes);
        LlrpHeader.TryRead(headerBytes, out var header, _maxLength);
        if (buffer.Length < header.Length)
        {
            return false;
        }

        var body = ArrayPool<byte>.Shared.Rent(Math.Max(1, header.BodyLength));
        buffer.Slice(LlrpHeader.Size, header.BodyLength).CopyTo(body);
        buffer = buffer.Slice(header.Length);
        message = new LlrpMessage(header, body);
        return true;
    }
}
