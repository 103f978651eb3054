using System.Buffers.Binary;
using System.Text;

namespace EdgeStream.Llrp;

/// <summary>
/// Builds LLRP messages into a reusable buffer. Messages and TLV parameters are opened and closed
/// like brackets; closing one writes its length, so nested parameters never need their size up front.
/// </summary>
public sealed class LlrpWriter
{
    private byte[] _buffer;
    private int _length;

    /// <summary>Creates a writer with an initial capacity.</summary>
    public LlrpWriter(int capacity = 256) => _buffer = new byte[Math.Max(16, capacity)];

    /// <summary>Bytes written so far.</summary>
    public int Length => _length;

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    /// <summary>Forgets everything written, keeping the buffer.</summary>
    public void Reset() => _length = 0;

    /// <summary>A copy of the bytes written.</summary>
    public byte[] ToArray() => WrittenSpan.ToArray();

    /// <summary>Starts a message; returns the mark to pass to <see cref="EndMessage"/>.</summary>
    public int BeginMessage(LlrpMessageType type, uint messageId)
    {
        var start = _length;
        new LlrpHeader(type, LlrpHeader.Size, messageId).Write(Grow(LlrpHeader.Size));
        return start;
    }

    /// <summary>Ends the message started at <paramref name="mark"/>, writing its length.</summary>
    public void EndMessage(int mark) => BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(mark + 2), (uint)(_length - mark));

    /// <summary>Starts a TLV parameter; returns the mark to pass to <see cref="EndParameter"/>.</summary>
    public int BeginParameter(LlrpParameterType type)
    {
        var start = _length;
        var span = Grow(4);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)((ushort)type & 0x3FF));
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], 4);
        return start;
    }

    /// <summary>Ends the TLV parameter started at <paramref name="mark"/>, writing its length.</summary>
    /// <exception cref="InvalidOperationException">The parameter grew past the 65,535 bytes a TLV length can say.</exception>
    public void EndParameter(int mark)
    {
        var len = _length - mark;
        if (len > ushort.MaxValue)
        {
            throw new InvalidOperationException($"LLRP parameter at {mark} is {len} bytes; a TLV holds at most 65535.");
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(mark + 2), (ushort)len);
    }

    /// <summary>Writes a Custom parameter: vendor, subtype and data.</summary>
    public void WriteCustom(uint vendor, uint subtype, ReadOnlySpan<byte> data)
    {
        var m = BeginParameter(LlrpParameterType.Custom);
        WriteU32(vendor);
        WriteU32(subtype);
        WriteBytes(data);
        EndParameter(m);
    }

    /// <summary>Writes a TV parameter's type byte; the caller writes the fixed-length value next.</summary>
    public void WriteTvType(LlrpParameterType type) => WriteU8((byte)(0x80 | ((int)type & 0x7F)));

    /// <summary>Overwrites bytes already written (to patch a field, or to corrupt one on purpose in tests).</summary>
    public void Overwrite(int offset, ReadOnlySpan<byte> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + bytes.Length, _length, nameof(offset));
        bytes.CopyTo(_buffer.AsSpan(offset));
    }

    /// <summary>Writes an unsigned byte.</summary>
    public void WriteU8(byte value) => Grow(1)[0] = value;

    /// <summary>Writes a signed byte.</summary>
    public void WriteS8(sbyte value) => Grow(1)[0] = (byte)value;

    /// <summary>Writes a big-endian 16-bit value.</summary>
    public void WriteU16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Grow(2), value);

    /// <summary>Writes a big-endian signed 16-bit value.</summary>
    public void WriteS16(short value) => BinaryPrimitives.WriteInt16BigEndian(Grow(2), value);

    /// <summary>Writes a big-endian 32-bit value.</summary>
    public void WriteU32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Grow(4), value);

    /// <summary>Writes a big-endian 64-bit value.</summary>
    public void WriteU64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Grow(8), value);

    /// <summary>Writes raw bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Grow(bytes.Length));

    /// <summary>Writes a byte array with its 16-bit count (u8v).</summary>
    public void WriteU8V(ReadOnlySpan<byte> bytes)
    {
        WriteU16((ushort)bytes.Length);
        WriteBytes(bytes);
    }

    /// <summary>Writes a UTF-8 string with its 16-bit byte count (utf8v).</summary>
    public void WriteUtf8V(string text)
    {
        var n = Encoding.UTF8.GetByteCount(text);
        WriteU16((ushort)n);
        Encoding.UTF8.GetBytes(text, Grow(n));
    }

    private Span<byte> Grow(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
