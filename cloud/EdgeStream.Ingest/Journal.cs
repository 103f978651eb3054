using System.Buffers.Binary;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Ingest;

/// <summary>
/// An append-only file of checksummed entries (<c>length:u32 crc32c:u32 body</c>, little-endian) for the
/// ingest's own small durable state. On open a torn tail is cut back to the last whole entry.
/// </summary>
internal sealed class Journal : IDisposable
{
    private const int HeaderBytes = 8;
    private readonly FileStream _file;
    private byte[] _scratch = new byte[256];

    private Journal(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    public string Path { get; }

    public long Length => _file.Length;

    /// <summary>Opens the journal, passing every whole entry to <paramref name="onEntry"/>; returns the bytes cut from a torn tail.</summary>
    public static Journal Open(string path, int maxEntryBytes, Action<ReadOnlySpan<byte>> onEntry, out long truncatedBytes)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 64 * 1024);
        var created = file.Length == 0;
        var data = new byte[file.Length];
        file.ReadExactly(data);
        var pos = 0;
        while (data.Length - pos >= HeaderBytes)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(pos));
            if (length > (uint)maxEntryBytes || data.Length - pos - HeaderBytes < length)
            {
                break;
            }

            var body = data.AsSpan(pos + HeaderBytes, (int)length);
            if (Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(pos + 4)))
            {
                break;
            }

            onEntry(body);
            pos += HeaderBytes + (int)length;
        }

        truncatedBytes = data.Length - pos;
        if (truncatedBytes > 0)
        {
            file.SetLength(pos);
            file.Flush(flushToDisk: true);
        }

        file.Position = pos;
        if (created)
        {
            EdgeStream.EventLog.Embedded.DurableIoAccess.SyncDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        }

        return new Journal(path, file);
    }

    /// <summary>Reads every whole entry of a journal file without opening it for writing.</summary>
    public static void ReadAll(string path, int maxEntryBytes, Action<ReadOnlySpan<byte>> onEntry)
    {
        if (!File.Exists(path))
        {
            return;
        }

        byte[] data;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            data = new byte[fs.Length];
            var n = fs.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            Array.Resize(ref data, n);
        }

        var pos = 0;
        while (data.Length - pos >= HeaderBytes)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(pos));
            if (length > (uint)maxEntryBytes || data.Length - pos - HeaderBytes < length
                || Crc32C.Compute(data.AsSpan(pos + HeaderBytes, (int)length)) != BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(pos + 4)))
            {
                return;
            }

            onEntry(data.AsSpan(pos + HeaderBytes, (int)length));
            pos += HeaderBytes + (int)length;
        }
    }

    /// <summary>Writes a complete journal atomically (temp file, fsync, rename, directory fsync).</summary>
    public static void WriteAtomic(string path, IEnumerable<byte[]> bodies)
    {
        using var buffer = new MemoryStream();
        Span<byte> header = stackalloc byte[HeaderBytes];
        foreach (var body in bodies)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)body.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32C.Compute(body));
            buffer.Write(header);
            buffer.Write(body);
        }

        EdgeStream.EventLog.Embedded.DurableIoAccess.WriteAtomic(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Writes an entry (buffered; durable after <see cref="Flush"/>).</summary>
    public void Append(ReadOnlySpan<byte> body)
    {
        var size = HeaderBytes + body.Length;
        if (_scratch.Length < size)
        {
            _scratch = new byte[Math.Max(size, _scratch.Length * 2)];
        }

        BinaryPrimitives.WriteUInt32LittleEndian(_scratch, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_scratch.AsSpan(4), Crc32C.Compute(body));
        body.CopyTo(_scratch.AsSpan(HeaderBytes));
        _file.Write(_scratch, 0, size);
    }

    /// <summary>Hands buffered entries to the operating system (not yet durable).</summary>
    public void FlushToOs() => _file.Flush(flushToDisk: false);

    /// <summary>Makes everything written so far durable.</summary>
    public void Flush() => _file.Flush(flushToDisk: true);

    /// <summary>fsync only; call after <see cref="FlushToOs"/>, without holding the writers' lock.</summary>
    public void SyncToDisk() => RandomAccess.FlushToDisk(_file.SafeFileHandle);

    public void Dispose() => _file.Dispose();
}
