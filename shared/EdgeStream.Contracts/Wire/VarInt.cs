namespace EdgeStream.Contracts.Wire;

/// <summary>
/// LEB128 variable-length integers and zigzag mapping, the integer encoding of every EdgeStream
/// binary format (batches, log records). One implementation, so the formats cannot drift apart.
/// </summary>
public static class VarInt
{
    /// <summary>Most bytes a 64-bit value takes.</summary>
    public const int MaxBytes = 10;

    /// <summary>Maps a signed value to an unsigned one so small magnitudes stay short: 0, −1, 1, −2 → 0, 1, 2, 3.</summary>
    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    /// <summary>Inverse of <see cref="ZigZag"/>.</summary>
    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="destination"/> (which has room for <see cref="MaxBytes"/>) and returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// Reads a value starting at <paramref name="position"/> and advances it. Returns false when the
    /// data ends inside the value (<paramref name="overlong"/> false) or the value runs past
    /// <see cref="MaxBytes"/> bytes (<paramref name="overlong"/> true); the caller names the field.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, ref int position, out ulong value, out bool overlong)
    {
        value = 0;
        overlong = false;
        var pos = position;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= source.Length)
            {
                return false;
            }

            var b = source[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                position = pos;
                return true;
            }
        }

        overlong = true;
        return false;
    }
}
