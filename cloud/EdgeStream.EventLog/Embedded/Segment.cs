namespace EdgeStream.EventLog.Embedded;

/// <summary>
/// One segment file of a partition: records from <see cref="BaseOffset"/> on. Only the newest segment
/// of a partition is written; the others are sealed and read-only until retention deletes them.
/// </summary>
internal sealed class Segment
{
    private readonly Lock _indexLock = new();
    private List<(long Offset, long Position)>? _index;
    private long _durableLength;
    private long _durableEndOffset;

    public Segment(string path, long baseOffset)
    {
        Path = path;
        BaseOffset = baseOffset;
    }

    public string Path { get; }

    public long BaseOffset { get; }

    /// <summary>Bytes known to be durable (fsynced) in the file; readers never read past it.</summary>
    public long DurableLength
    {
        get => Volatile.Read(ref _durableLength);
        set => Volatile.Write(ref _durableLength, value);
    }

    /// <summary>The offset after the last durable record of this segment.</summary>
    public long DurableEndOffset
    {
        get => Volatile.Read(ref _durableEndOffset);
        set => Volatile.Write(ref _durableEndOffset, value);
    }

    public static string FileName(long baseOffset) => $"{baseOffset:D20}.log";

    /// <summary>
    /// The file position of the record with <paramref name="offset"/>, or the closest position before it
    /// from a sparse index built on first use (sealed segments are not indexed at open, so start-up stays
    /// quick however much data the log keeps).
    /// </summary>
    public long PositionAtOrBefore(long offset, int maxRecordBytes)
    {
        lock (_indexLock)
        {
            _index ??= BuildIndex(maxRecordBytes);
            var lo = 0;
            var hi = _index.Count - 1;
            var best = 0L;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_index[mid].Offset <= offset)
                {
                    best = _index[mid].Position;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return best;
        }
    }

    /// <summary>Forgets the sparse index (the active segment grows after it is built).</summary>
    public void InvalidateIndex()
    {
        lock (_indexLock)
        {
            _index = null;
        }
    }

    private List<(long, long)> BuildIndex(int maxRecordBytes)
    {
        const long every = 64 * 1024;
        var index = new List<(long, long)>();
        var limit = DurableLength;
        using var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var buffer = new byte[Math.Max(1 << 20, maxRecordBytes + RecordFormat.HeaderBytes + RecordFormat.FixedBodyBytes)];
        long filePos = 0;
        long lastIndexed = -every;
        while (filePos < limit)
        {
            fs.Position = filePos;
            var n = fs.ReadAtLeast(buffer.AsSpan(0, (int)Math.Min(buffer.Length, limit - filePos)), 1, throwOnEndOfStream: false);
            if (n == 0)
            {
                break;
            }

            var used = 0;
            while (true)
            {
                var status = RecordFormat.TryRead(buffer.AsSpan(used, n - used), maxRecordBytes, out var size, out var offset, out _, out _);
                if (status != RecordFormat.ReadStatus.Ok)
                {
                    if (status == RecordFormat.ReadStatus.Corrupt)
                    {
                        throw new EventLogException($"Segment '{Path}' is corrupt at byte {filePos + used}.");
                    }

                    break;
                }

                if (filePos + used - lastIndexed >= every)
                {
                    index.Add((offset, filePos + used));
                    lastIndexed = filePos + used;
                }

                used += size;
            }

            if (used == 0)
            {
                break;
            }

            filePos += used;
        }

        return index;
    }
}
