using System.Buffers.Binary;

namespace EdgeStream.Llrp;

/// <summary>
/// The 10-byte header every LLRP message starts with: 3 reserved bits, a 3-bit version, a 10-bit
/// message type, a 32-bit length that counts the header itself, and a 32-bit message id that the
/// answer to a request echoes.
/// </summary>
public readonly record struct LlrpHeader(LlrpMessageType Type, int Length, uint MessageId)
{
    /// <summary>Size of the header in bytes.</summary>
    public const int Size = 10;

    /// <summary>The protocol version this codec speaks: LLRP 1.0.1 is version 1.</summary>
    public const byte Version = 1;

    /// <summary>
    /// The largest message accepted by default. Real readers send a few KB; a length field above
    /// this is corruption, and believing it would make the framer buffer without bound.
    /// </summary>
    public const int DefaultMaxMessageLength = 4 * 1024 * 1024;

    /// <summary>Bytes after the header.</summary>
    public int BodyLength => Length - Size;

    /// <summary>
    /// Reads and validates a header. Returns false when fewer than <see cref="Size"/> bytes are given.
    /// </summary>
    /// <exception cref="LlrpFormatException">Wrong version, a length below the header size or above <paramref name="maxLength"/>.</exception>
    public static bool TryRead(ReadOnlySpan<byte> source, out LlrpHeader header, int maxLength = DefaultMaxMessageLength)
    {
        header = default;
        if (source.Length < Size)
        {
            return false;
        }

        var first = BinaryPrimitives.ReadUInt16BigEndian(source);
        var version = (first >> 10) & 0x7;
        var type = (ushort)(first & 0x3FF);
        var length = BinaryPrimitives.ReadUInt32BigEndian(source[2..]);
        var id = BinaryPrimitives.ReadUInt32BigEndian(source[6..]);
        if (version != Version)
        {
            throw new LlrpFormatException($"LLRP header: version {version} is not supported (expected {Version}).");
        }

        if (length < Size || length > (uint)maxLength)
        {
            throw new LlrpFormatException($"LLRP header: message length {length} is outside {Size}..{maxLength} (type {type}, id {id}).");
        }

        header = new LlrpHeader((LlrpMessageType)type, (int)length, id);
        return true;
    }

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)((Version << 10) | ((ushort)Type & 0x3FF)));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[6..], MessageId);
    }
}
