using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeStream.Engine.Io;

/// <summary>
/// A growable little-endian byte writer used to serialise checkpoints. Its buffer is pooled and reused
/// from one checkpoint to the next, so a steady checkpoint cadence does not churn the large object heap.
/// </summary>
public sealed class SnapshotWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    /// <summary>Creates a writer with an initial capacity in bytes.</summary>
    public SnapshotWriter(int initialCapacity = 64 * 1024)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, initialCapacity));
    }

    /// <summary>Bytes written so far.</summary>
    public int Length => _length;

    /// <summary>What has been written.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    /// <summary>What has been written.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>Forgets what was written, keeping the buffer.</summary>
    public void Reset() => _length = 0;

    public void WriteByte(byte value) => Span(1)[0] = value;

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(Span(4), value);
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(Span(8), value);
    }

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Span(8), value);
    }

    /// <summary>Writes bytes with an Int32 length prefix.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteInt32(value.Length);
        value.CopyTo(Span(value.Length));
    }

    /// <summary>Writes bytes as they are, with no length prefix.</summary>
    public void WriteRaw(ReadOnlySpan<byte> value) => value.CopyTo(Span(value.Length));

    /// <summary>Writes a UTF-8 string with an Int32 byte-length prefix.</summary>
    public void WriteString(string value)
    {
        var n = Encoding.UTF8.GetByteCount(value);
        WriteInt32(n);
        Encoding.UTF8.GetBytes(value, Span(n));
    }

    /// <summary>Reserves four bytes to be filled later with <see cref="PatchInt32"/>; returns their position.</summary>
    public int ReserveInt32()
    {
        var at = _length;
        Span(4);
        return at;
    }

    /// <summary>Fills a reserved Int32.</summary>
    public void PatchInt32(int position, int value) => BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(position, 4), value);

    /// <summary>Returns a span of <paramref name="size"/> bytes at the end and counts them as written.</summary>
    public Span<byte> Span(int size)
    {
        if (_length + size > _buffer.Length)
        {
            Grow(size);
        }

        var s = _buffer.AsSpan(_length, size);
        _length += size;
        return s;
    }

    private void Grow(int size)
    {
        var wanted = (long)Math.Max(_buffer.Length, 256) * 2;
        while (wanted < (long)_length + size)
        {
            wanted *= 2;
        }

        if (wanted > Array.MaxLength)
        {
            wanted = Array.MaxLength;
            if (wanted < (long)_length + size)
            {
                throw new InvalidOperationException("A checkpoint larger than 2 GiB cannot be written by one task; use more partitions.");
            }
        }

        var next = ArrayPool<byte>.Shared.Rent((int)wanted);
        _buffer.AsSpan(0, _length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = next;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
    }
}

/// <summary>Reads what <see cref="SnapshotWriter"/> wrote; every overrun is a <see cref="CheckpointFormatException"/>.</summary>
public ref struct SnapshotReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public SnapshotReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>Bytes consumed so far.</summary>
    public readonly int Position => _position;

    /// <summary>Bytes left.</summary>
    public readonly int Remaining => _data.Length - _position;

    public byte ReadByte() => Take(1)[0];

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>Reads an Int32 that must lie in [0, <paramref name="max"/>].</summary>
    public int ReadCount(int max, string what)
    {
        var n = ReadInt32();
        if (n < 0 || n > max)
        {
            throw new CheckpointFormatException($"{what} count {n} is outside 0..{max}.");
        }

        return n;
    }

    /// <summary>Reads bytes written by <see cref="SnapshotWriter.WriteBytes"/>.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        var n = ReadCount(Remaining, "byte string");
        return Take(n);
    }

    /// <summary>Reads <paramref name="count"/> raw bytes.</summary>
    public ReadOnlySpan<byte> ReadRaw(int count) => Take(count);

    /// <summary>Reads a string written by <see cref="SnapshotWriter.WriteString"/>.</summary>
    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _position + n > _data.Length)
        {
            throw new CheckpointFormatException($"Checkpoint data ends early at byte {_position} (wanted {n} more).");
        }

        var s = _data.Slice(_position, n);
        _position += n;
        return s;
    }
}

/// <summary>A checkpoint's content does not parse: it is torn, corrupted or from an incompatible version.</summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string message)
        : base(message)
    {
    }

    public CheckpointFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CheckpointFormatException()
    {
    }
}
