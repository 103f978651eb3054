using System.Buffers;

namespace EdgeStream.EventLog.Embedded;

/// <summary>
/// One partition on disk: a folder of segment files named by base offset. Written only by the log's
/// writer loop; read concurrently by consumers, which never read past the durable end.
/// </summary>
internal sealed class PartitionLog : IDisposable
{
    private readonly string _directory;
    private readonly EmbeddedLogOptions _options;
    private readonly Lock _segmentsLock = new();
    private Segment[] _segments;
    private FileStream _writer;
    private long _activeLength;
    private long _durableEnd;
    private byte[] _scratch = new byte[4096];

    private PartitionLog(int partition, string directory, EmbeddedLogOptions options, Segment[] segments, FileStream writer, long activeLength, long nextOffset)
    {
        Partition = partition;
        _directory = directory;
        _options = options;
        _segments = segments;
        _writer = writer;
        _activeLength = activeLength;
        NextOffset = nextOffset;
        _durableEnd = nextOffset;
    }

    public int Partition { get; }

    /// <summary>The offset the next staged record gets (writer only).</summary>
    public long NextOffset { get; private set; }

    /// <summary>The offset after the last durable record: consumers read below it.</summary>
    public long DurableEnd => Volatile.Read(ref _durableEnd);

    /// <summary>Records cut from a torn or corrupt tail when the partition was opened.</summary>
    public long RecoveredTruncatedBytes { get; private set; }

    /// <summary>A snapshot of the segments, oldest first.</summary>
    public Segment[] Segments => Volatile.Read(ref _segments);

    /// <summary>The oldest offset still kept.</summary>
    public long StartOffset => Segments[0].BaseOffset;

    /// <summary>Opens (or creates) the partition, cutting a torn tail back to the last whole record.</summary>
    public static PartitionLog Open(int partition, string directory, EmbeddedLogOptions options)
    {
        Directory.CreateDirectory(directory);
        var segments = new List<Segment>();
        foreach (var path in Directory.EnumerateFiles(directory, "*.log"))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(path), out var baseOffset) && baseOffset >= 0)
            {
                segments.Add(new Segment(path, baseOffset));
            }
        }

        segments.Sort((a, b) => a.BaseOffset.CompareTo(b.BaseOffset));
        if (segments.Count == 0)
        {
            var path = Path.Combine(directory, Segment.FileName(0));
            using (File.Create(path))
            {
            }

            DurableIo.SyncDirectory(directory);
            segments.Add(new Segment(path, 0));
        }

        for (var i = 0; i < segments.Count - 1; i++)
        {
            segments[i].DurableLength = new FileInfo(segments[i].Path).Length;
            segments[i].DurableEndOffset = segments[i + 1].BaseOffset;
        }

        var active = segments[^1];
        var (validLength, endOffset) = ScanActive(active, options.MaxRecordBytes);
        var writer = new FileStream(active.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 256 * 1024);
        long truncated = writer.Length - validLength;
        if (truncated > 0)
        {
            writer.SetLength(validLength);
            writer.Flush(flushToDisk: true);
        }

        writer.Position = validLength;
        active.DurableLength = validLength;
        active.DurableEndOffset = endOffset;
        return new PartitionLog(partition, directory, options, [.. segments], writer, validLength, endOffset)
        {
            RecoveredTruncatedBytes = truncated,
        };
    }

    /// <summary>Stages one record in the active segment (written, not yet durable) and returns its offset.</summary>
    public long Stage(in LogMessage message)
    {
        var size = RecordFormat.SizeOf(message.Key.Length, message.Value.Length);
        if (_activeLength > 0 && _activeLength + size > _options.SegmentBytes)
        {
            Roll();
        }

        if (_scratch.Length < size)
        {
            _scratch = new byte[Math.Max(size, _scratch.Length * 2)];
        }

        var offset = NextOffset;
        var n = RecordFormat.Write(_scratch, offset, message.TimestampUs, message.Key.Span, message.Value.Span);
        _writer.Write(_scratch, 0, n);
        _activeLength += n;
        NextOffset = offset + 1;
        return offset;
    }

    /// <summary>Makes everything staged durable (fsync) and visible to consumers.</summary>
    public void Commit()
    {
        _writer.Flush(flushToDisk: true);
        var active = Segments[^1];
        active.DurableLength = _activeLength;
        active.DurableEndOffset = NextOffset;
        Volatile.Write(ref _durableEnd, NextOffset);
    }

    /// <summary>Drops whatever was staged since the last commit, after a failed write or fsync.</summary>
    public void Rollback()
    {
        var active = Segments[^1];
        try
        {
            _writer.Dispose();
        }
        catch (IOException)
        {
            // The buffered bytes that failed to write are exactly what is being thrown away.
        }

        _writer = new FileStream(active.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 256 * 1024);
        _writer.SetLength(active.DurableLength);
        _writer.Flush(flushToDisk: true);
        _writer.Position = active.DurableLength;
        _activeLength = active.DurableLength;
        NextOffset = active.DurableEndOffset;
    }

    /// <summary>Deletes the oldest sealed segments beyond the retention bounds; returns how many.</summary>
    public int ApplyRetention(DateTime utcNow)
    {
        var deleted = 0;
        while (true)
        {
            var segments = Segments;
            if (segments.Length < 2)
            {
                return deleted;
            }

            var oldest = segments[0];
            var total = 0L;
            foreach (var s in segments)
            {
                total += s.DurableLength;
            }

            var tooOld = _options.RetentionTime is { } age && File.GetLastWriteTimeUtc(oldest.Path) < utcNow - age;
            var tooBig = _options.RetentionBytesPerPartition is { } max && total > max;
            if (!tooOld && !tooBig)
            {
                return deleted;
            }

            lock (_segmentsLock)
            {
                Volatile.Write(ref _segments, segments[1..]);
            }

            // Readers that still hold the file open keep reading it; Linux frees it when they close.
            File.Delete(oldest.Path);
            DurableIo.SyncDirectory(_directory);
            deleted++;
        }
    }

    public void Dispose() => _writer.Dispose();

    private void Roll()
    {
        // Seal: the old segment is made durable before the new one exists, so recovery only ever has
        // to repair the newest file.
        _writer.Flush(flushToDisk: true);
        var sealedSegment = Segments[^1];
        sealedSegment.DurableLength = _activeLength;
        sealedSegment.DurableEndOffset = NextOffset;
        _writer.Dispose();

        var path = Path.Combine(_directory, Segment.FileName(NextOffset));
        var next = new Segment(path, NextOffset) { DurableLength = 0, DurableEndOffset = NextOffset };
        _writer = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 256 * 1024);
        DurableIo.SyncDirectory(_directory);
        _activeLength = 0;
        lock (_segmentsLock)
        {
            Volatile.Write(ref _segments, [.. Segments, next]);
        }

        Volatile.Write(ref _durableEnd, NextOffset);
    }

    private static (long ValidLength, long EndOffset) ScanActive(Segment segment, int maxRecordBytes)
    {
        using var fs = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1 << 20, maxRecordBytes + 64));
        try
        {
            long filePos = 0;
            var expected = segment.BaseOffset;
            var length = fs.Length;
            while (filePos < length)
            {
                fs.Position = filePos;
                var n = fs.ReadAtLeast(buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - filePos)), 1, throwOnEndOfStream: false);
                var used = 0;
                while (true)
                {
                    var status = RecordFormat.TryRead(buffer.AsSpan(used, n - used), maxRecordBytes, out var size, out var offset, out _, out _);
                    if (status == RecordFormat.ReadStatus.Corrupt || (status == RecordFormat.ReadStatus.Ok && offset != expected))
                    {
                        return (filePos + used, expected);
                    }

                    if (status == RecordFormat.ReadStatus.NeedMore)
                    {
                        break;
                    }

                    used += size;
                    expected++;
                }

                if (used == 0)
                {
                    // A record header promising more bytes than the file has: a torn tail.
                    return (filePos, expected);
                }

                filePos += used;
            }

            return (filePos, expected);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
