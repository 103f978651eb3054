using System.Buffers.Binary;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.EventLog.Embedded;

/// <summary>
/// The on-disk framing of one record in a segment file. Little-endian:
/// <code>
/// bodyLength:u32  crc32c(body):u32
/// body: offset:i64  timestampUs:i64  keyLength:u16  key  value
/// </code>
/// The checksum finds torn writes after a crash (the tail is cut back to the last whole record) and
/// bit rot in sealed segments (reported, never returned as data).
/// </summary>
internal static class RecordFormat
{
    public const int HeaderBytes = 8;
    public const int FixedBodyBytes = 8 + 8 + 2;

    public static int SizeOf(int keyLength, int valueLength) => HeaderBytes + FixedBodyBytes + keyLength + valueLength;

    public static int Write(Span<byte> destination, long offset, long timestampUs, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var bodyLength = FixedBodyBytes + key.Length + value.Length;
        var body = destination.Slice(HeaderBytes, bodyLength);
        BinaryPrimitives.WriteInt64LittleEndian(body, offset);
        BinaryPrimitives.WriteInt64LittleEndian(body[8..], timestampUs);
        BinaryPrimitives.WriteUInt16LittleEndian(body[16..], (ushort)key.Length);
        key.CopyTo(body[FixedBodyBytes..]);
        value.CopyTo(body[(FixedBodyBytes + key.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)bodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Crc32C.Compute(body));
        return HeaderBytes + bodyLength;
    }

    /// <summary>Outcome of reading one record at the start of a buffer.</summary>
    public enum ReadStatus
    {
        Ok,
        NeedMore,
        Corrupt,
    }

    /// <summary>
    /// Parses the record at the start of <paramref name="data"/>. <see cref="ReadStatus.NeedMore"/> sets
    /// <paramref name="size"/> to the bytes needed (when known from the header, else the header size).
    /// </summary>
    public static ReadStatus TryRead(ReadOnlySpan<byte> data, int maxRecordBytes, out int size, out long offset, out long timestampUs, out int keyLength)
    {
        offset = 0;
        timestampUs = 0;
        keyLength = 0;
        size = HeaderBytes;
        if (data.Length < HeaderBytes)
        {
            return ReadStatus.NeedMore;
        }

        var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (bodyLength < FixedBodyBytes || bodyLength > (uint)(maxRecordBytes + FixedBodyBytes))
        {
            return ReadStatus.Corrupt;
        }

        size = HeaderBytes + (int)bodyLength;
        if (data.Length < size)
        {
            return ReadStatus.NeedMore;
        }

        var body = data.Slice(HeaderBytes, (int)bodyLength);
        if (Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(data[4..]))
        {
            return ReadStatus.Corrupt;
        }

        offset = BinaryPrimitives.ReadInt64LittleEndian(body);
        timestampUs = BinaryPrimitives.ReadInt64LittleEndian(body[8..]);
        keyLength = BinaryPrimitives.ReadUInt16LittleEndian(body[16..]);
        if (keyLength > bodyLength - FixedBodyBytes)
        {
            return ReadStatus.Corrupt;
        }

        return ReadStatus.Ok;
    }
}
