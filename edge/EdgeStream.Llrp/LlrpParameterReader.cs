using System.Buffers.Binary;

namespace EdgeStream.Llrp;

/// <summary>One parameter as it sits in a message: its type, whether it was TV-encoded, and its value bytes.</summary>
public readonly ref struct LlrpParameter
{
    /// <summary>Creates a view of a parameter.</summary>
    public LlrpParameter(LlrpParameterType type, bool isTv, ReadOnlySpan<byte> body)
    {
        Type = type;
        IsTv = isTv;
        Body = body;
    }

    /// <summary>The parameter type.</summary>
    public LlrpParameterType Type { get; }

    /// <summary>True for TV parameters (type in the first byte, fixed length).</summary>
    public bool IsTv { get; }

    /// <summary>The bytes after the parameter header (TV: after the type byte; TLV: after type and length).</summary>
    public ReadOnlySpan<byte> Body { get; }

    /// <summary>A field reader over the body.</summary>
    public LlrpSpanReader Fields() => new(Body, Type.ToString());

    /// <summary>A reader over the sub-parameters that follow <paramref name="fixedBytes"/> bytes of fields.</summary>
    public LlrpParameterReader Children(int fixedBytes)
    {
        if (Body.Length < fixedBytes)
        {
            throw new LlrpFormatException($"{Type}: needs {fixedBytes} bytes of fields but has {Body.Length}.");
        }

        return new LlrpParameterReader(Body[fixedBytes..], Type);
    }

    /// <summary>For a Custom parameter: vendor, subtype and data. Throws when shorter than 8 bytes.</summary>
    public void ReadCustom(out uint vendor, out uint subtype, out ReadOnlySpan<byte> data)
    {
        if (Body.Length < 8)
        {
            throw new LlrpFormatException($"Custom parameter: needs 8 bytes of vendor and subtype but has {Body.Length}.");
        }

        vendor = BinaryPrimitives.ReadUInt32BigEndian(Body);
        subtype = BinaryPrimitives.ReadUInt32BigEndian(Body[4..]);
        data = Body[8..];
    }
}

/// <summary>
/// Walks a sequence of LLRP parameters (TV and TLV mixed, as the spec allows) and validates each
/// header against the bytes available: a length that runs past its parent, a TLV shorter than its own
/// header, or an unknown TV type (whose length cannot be known) is a <see cref="LlrpFormatException"/>.
/// Unknown TLV types, including vendor Custom parameters, are returned for the caller to skip.
/// </summary>
public ref struct LlrpParameterReader
{
    // Value lengths (after the type byte) of TV parameters 1..20, from the LLRP 1.0.1 parameter tables.
    private static ReadOnlySpan<byte> TvLengths => [0, 2, 8, 8, 8, 8, 1, 2, 2, 4, 2, 2, 2, 12, 2, 2, 4, 2, 4, 2, 2];

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly string? _parentName;
    private readonly LlrpParameterType _parentType;
    private int _position;

    /// <summary>Creates a reader over <paramref name="buffer"/>; <paramref name="parent"/> names the container in errors.</summary>
    public LlrpParameterReader(ReadOnlySpan<byte> buffer, string parent)
    {
        _buffer = buffer;
        _parentName = parent;
        _position = 0;
    }

    /// <summary>Creates a reader over the sub-parameters of a <paramref name="parent"/> parameter (named only if an error is reported, so the hot path does not allocate).</summary>
    public LlrpParameterReader(ReadOnlySpan<byte> buffer, LlrpParameterType parent)
    {
        _buffer = buffer;
        _parentType = parent;
        _position = 0;
    }

    private readonly string _parent => _parentName ?? _parentType.ToString();

    /// <summary>True when every byte has been consumed.</summary>
    public readonly bool End => _position >= _buffer.Length;

    /// <summary>The value length of a TV parameter type, or -1 when the type is not a known TV parameter.</summary>
    public static int TvLength(int type) => type > 0 && type < TvLengths.Length ? TvLengths[type] : -1;

    /// <summary>Reads the next parameter; false at the end of the buffer.</summary>
    /// <exception cref="LlrpFormatException">The next parameter's header is invalid or runs past the buffer.</exception>
    public bool TryRead(out LlrpParameter parameter)
    {
        parameter = default;
        var rest = _buffer[_position..];
        if (rest.IsEmpty)
        {
            return false;
        }

        if ((rest[0] & 0x80) != 0)
        {
            var type = rest[0] & 0x7F;
            var len = TvLength(type);
            if (len < 0)
            {
                throw new LlrpFormatException($"{_parent}: unknown TV parameter type {type} at offset {_position}.");
            }

            if (rest.Length < 1 + len)
            {
                throw new LlrpFormatException($"{_parent}: TV parameter {(LlrpParameterType)type} at offset {_position} needs {1 + len} bytes, {rest.Length} remain.");
            }

            parameter = new LlrpParameter((LlrpParameterType)type, true, rest.Slice(1, len));
            _position += 1 + len;
            return true;
        }

        if (rest.Length < 4)
        {
            throw new LlrpFormatException($"{_parent}: {rest.Length} trailing byte(s) at offset {_position} are not a parameter.");
        }

        var tlvType = BinaryPrimitives.ReadUInt16BigEndian(rest) & 0x3FF;
        var length = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
        if (length < 4 || length > rest.Length)
        {
            throw new LlrpFormatException($"{_parent}: parameter type {tlvType} at offset {_position} has length {length}, outside 4..{rest.Length}.");
        }

        if (tlvType < 128)
        {
            throw new LlrpFormatException($"{_parent}: TLV parameter at offset {_position} has reserved type {tlvType}.");
        }

        parameter = new LlrpParameter((LlrpParameterType)tlvType, false, rest.Slice(4, length - 4));
        _position += length;
        return true;
    }
}
