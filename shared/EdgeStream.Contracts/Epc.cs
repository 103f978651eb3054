using System.Buffers.Binary;
using System.Globalization;

namespace EdgeStream.Contracts;

/// <summary>
/// An Electronic Product Code (or any tag identifier) of 1 to 496 bits, held by value.
/// EPCs up to 256 bits (all common encodings: SGTIN-96, GIAI-202, …) live inline so reads on the
/// hot path allocate nothing; longer ones spill to a private array.
/// </summary>
public readonly struct Epc : IEquatable<Epc>, IComparable<Epc>
{
    /// <summary>The longest EPC a Gen2 tag can carry: 31 words = 496 bits.</summary>
    public const int MaxBits = 496;

    /// <summary>Bytes held inline, without an allocation.</summary>
    public const int InlineBytes = 32;

    private readonly ulong _w0, _w1, _w2, _w3;
    private readonly byte[]? _spill;
    private readonly ushort _bits;

    private Epc(ulong w0, ulong w1, ulong w2, ulong w3, byte[]? spill, ushort bits)
    {
        _w0 = w0; _w1 = w1; _w2 = w2; _w3 = w3; _spill = spill; _bits = bits;
    }

    /// <summary>Length in bits as the tag reported it (EPC-96 reports 96).</summary>
    public int BitLength => _bits;

    /// <summary>Length in whole bytes: <c>ceil(BitLength / 8)</c>.</summary>
    public int ByteLength => (_bits + 7) >> 3;

    /// <summary>True for the default value, which is not a valid EPC.</summary>
    public bool IsEmpty => _bits == 0;

    /// <summary>Creates an EPC from its bytes (big-endian, as on the air). <paramref name="bitLength"/> defaults to 8 × length.</summary>
    /// <exception cref="ArgumentException">Empty, longer than 496 bits, or a bit length that does not fit the bytes.</exception>
    public static Epc FromBytes(ReadOnlySpan<byte> bytes, int bitLength = -1)
    {
        if (!TryFromBytes(bytes, bitLength, out var epc))
        {
            throw new ArgumentException(
                $"An EPC has 1..{MaxBits} bits and bitLength must fit the {bytes.Length} bytes given (bitLength={bitLength}).",
                nameof(bytes));
        }

        return epc;
    }

    /// <summary>Creates an EPC from its bytes; false when the length is out of range.</summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, int bitLength, out Epc epc)
    {
        if (bitLength < 0)
        {
            bitLength = bytes.Length * 8;
        }

        epc = default;
        if (bitLength == 0 || bitLength > MaxBits || (bitLength + 7) >> 3 != bytes.Length)
        {
            return false;
        }

        if (bytes.Length <= InlineBytes)
        {
            Span<byte> buf = stackalloc byte[InlineBytes];
            buf.Clear();
            bytes.CopyTo(buf);
            epc = new Epc(
                BinaryPrimitives.ReadUInt64BigEndian(buf),
                BinaryPrimitives.ReadUInt64BigEndian(buf[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(buf[16..]),
                BinaryPrimitives.ReadUInt64BigEndian(buf[24..]),
                null,
                (ushort)bitLength);
        }
        else
        {
            epc = new Epc(0, 0, 0, 0, bytes.ToArray(), (ushort)bitLength);
        }

        return true;
    }

    /// <summary>Parses hexadecimal (either case, no separators) into an EPC of 4 × digits bits.</summary>
    public static bool TryParseHex(ReadOnlySpan<char> hex, out Epc epc)
    {
        epc = default;
        if (hex.Length == 0 || (hex.Length & 1) != 0 || hex.Length / 2 * 8 > MaxBits)
        {
            return false;
        }

        Span<byte> buf = stackalloc byte[hex.Length / 2];
        for (var i = 0; i < buf.Length; i++)
        {
            if (!byte.TryParse(hex.Slice(i * 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out buf[i]))
            {
                return false;
            }
        }

        return TryFromBytes(buf, -1, out epc);
    }

    /// <summary>Parses hexadecimal into an EPC.</summary>
    /// <exception cref="FormatException">Not an even number of hex digits, or longer than 496 bits.</exception>
    public static Epc ParseHex(string hex) =>
        TryParseHex(hex, out var epc)
            ? epc
            : throw new FormatException($"'{hex}' is not an EPC: expected 2..124 hex digits, an even count.");

    /// <summary>Copies the EPC's bytes into <paramref name="destination"/> and returns how many were written.</summary>
    public int CopyTo(Span<byte> destination)
    {
        var n = ByteLength;
        if (destination.Length < n)
        {
            throw new ArgumentException($"Destination needs {n} bytes.", nameof(destination));
        }

        if (_spill is not null)
        {
            _spill.CopyTo(destination);
            return n;
        }

        Span<byte> buf = stackalloc byte[InlineBytes];
        BinaryPrimitives.WriteUInt64BigEndian(buf, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(buf[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(buf[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(buf[24..], _w3);
        buf[..n].CopyTo(destination);
        return n;
    }

    /// <summary>The EPC's bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var a = new byte[ByteLength];
        CopyTo(a);
        return a;
    }

    /// <summary>Uppercase hexadecimal, the form every API and file of the product uses.</summary>
    public override string ToString()
    {
        if (IsEmpty)
        {
            return string.Empty;
        }

        Span<byte> buf = stackalloc byte[ByteLength];
        CopyTo(buf);
        return Convert.ToHexString(buf);
    }

    /// <inheritdoc/>
    public bool Equals(Epc other) =>
        _bits == other._bits && _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3
        && (_spill is null ? other._spill is null : other._spill is not null && _spill.AsSpan().SequenceEqual(other._spill));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Epc other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (_spill is null)
        {
            return HashCode.Combine(_w0, _w1, _w2, _w3, _bits);
        }

        var h = new HashCode();
        h.AddBytes(_spill);
        h.Add(_bits);
        return h.ToHashCode();
    }

    /// <summary>Orders by bytes, then by length: a stable order for keys and golden files.</summary>
    public int CompareTo(Epc other)
    {
        Span<byte> a = stackalloc byte[(MaxBits + 7) / 8];
        Span<byte> b = stackalloc byte[(MaxBits + 7) / 8];
        var na = CopyTo(a);
        var nb = other.CopyTo(b);
        var c = a[..na].SequenceCompareTo(b[..nb]);
        return c != 0 ? c : _bits.CompareTo(other._bits);
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(Epc left, Epc right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(Epc left, Epc right) => !left.Equals(right);

    /// <summary>Ordering.</summary>
    public static bool operator <(Epc left, Epc right) => left.CompareTo(right) < 0;

    /// <summary>Ordering.</summary>
    public static bool operator >(Epc left, Epc right) => left.CompareTo(right) > 0;

    /// <summary>Ordering.</summary>
    public static bool operator <=(Epc left, Epc right) => left.CompareTo(right) <= 0;

    /// <summary>Ordering.</summary>
    public static bool operator >=(Epc left, Epc right) => left.CompareTo(right) >= 0;
}
