using System.Buffers.Binary;
using System.Text;

namespace EdgeStream.Llrp;

/// <summary>
/// Reads the fixed fields of a message or parameter body, big-endian, and throws a
/// <see cref="LlrpFormatException"/> naming the structure when the body is too short.
/// </summary>
public ref struct LlrpSpanReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly string _what;
    private int _position;

    /// <summary>Creates a reader over <paramref name="buffer"/>; <paramref name="what"/> names it in errors.</summary>
    public LlrpSpanReader(ReadOnlySpan<byte> buffer, string what)
    {
        _buffer = buffer;
        _what = what;
        _position = 0;
    }

    /// <summary>Bytes not yet read.</summary>
    public readonly ReadOnlySpan<byte> Remaining => _buffer[_position..];

    /// <summary>Reads an unsigned byte.</summary>
    public byte ReadU8() => Take(1)[0];

    /// <summary>Reads a signed byte.</summary>
    public sbyte ReadS8() => (sbyte)Take(1)[0];

    /// <summary>Reads a big-endian unsigned 16-bit field.</summary>
    public ushort ReadU16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    /// <summary>Reads a big-endian signed 16-bit field.</summary>
    public short ReadS16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    /// <summary>Reads a big-endian unsigned 32-bit field.</summary>
    public uint ReadU32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    /// <summary>Reads a big-endian unsigned 64-bit field.</summary>
    public ulong ReadU64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    /// <summary>Reads a byte array with a 16-bit count prefix (u8v).</summary>
    public ReadOnlySpan<byte> ReadU8V() => Take(ReadU16());

    /// <summary>Reads a UTF-8 string with a 16-bit byte-count prefix (utf8v).</summary>
    public string ReadUtf8V()
    {
        var bytes = ReadU8V();
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Reads an array of 32-bit values with a 16-bit count prefix (u32v).</summary>
    public uint[] ReadU32V()
    {
        var n = ReadU16();
        var bytes = Take(n * 4);
        var values = new uint[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt32BigEndian(bytes[(i * 4)..]);
        }

        return values;
    }

    /// <summary>Reads <paramref name="count"/> raw bytes.</summary>
    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || _buffer.Length - _position < count)
        {
            throw new LlrpFormatException(
                $"{_what}: needs {count} more byte(s) at offset {_position} but only {_buffer.Length - _position} remain.");
        }

        var span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }
}
