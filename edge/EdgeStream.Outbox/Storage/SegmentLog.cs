using System.Buffers;
using System.Buffers.Binary;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Outbox.Storage;

/// <summary>Where one record sits in a segment log.</summary>
internal readonly record struct RecordInfo(ulong Sequence, DataClass Class, ulong SegmentId, long Offset, int Length, int Count, long CreatedUs);

/// <summary>
/// An append-only log of encoded batches for one data class, split into segment files named by the
/// first sequence they may hold. Every record carries a header checksum and a payload checksum, so
/// recovery finds the last whole record after a power cut and cuts the torn tail off.
/// </summary>
/// <remarks>
/// Record layout (little-endian): magic u32 'ESOB', payload length u32, sequence u64, created µs i64,
/// record count u32, class u8, 3 reserved bytes, payload CRC-32C u32, header CRC-32C u32 (over the
/// 36 bytes before it), then the payload (a <see cref="BatchCodec"/> v1 batch).
/// The log is written by one thread; <see cref="ReadPayload"/> may run on others.
/// </remarks>
internal sealed class SegmentLog : IDisposable
{
    public const int HeaderBytes = 40;
    private const uint Magic = 0x424F5345; // "ESOB"
    private const string Suffix = ".seg";

    private readonly IOutboxStorage _storage;
    private readonly string _prefix;
    private readonly long _segmentBytes;
    private readonly object _readGate = new();
    private readonly Dictionary<ulong, Stream> _readers = [];
    private readonly SortedDictionary<ulong, long> _segments = []; // id -> bytes
    private readonly ArrayBufferWriter<byte> _pending = new(64 * 1024);
    private Stream? _active;
    private ulong _activeId;
    private long _activeEnd;
    private bool _activeHasRecords;
    private Exception? _groupFailure;

    public SegmentLog(IOutboxStorage storage, DataClass dataClass, long segmentBytes)
    {
        _storage = storage;
        Class = dataClass;
        _prefix = (dataClass == DataClass.Reads ? "reads-" : "presence-");
        _segmentBytes = segmentBytes;
    }

    public DataClass Class { get; }

    /// <summary>Bytes in all segments of this log.</summary>
    public long TotalBytes { get; private set; }

    /// <summary>The segment appends go to; never deleted while active.</summary>
    public ulong ActiveSegmentId => _activeId;

    /// <summary>Bytes of records appended but not yet written and synced.</summary>
    public int PendingBytes => _pending.WrittenCount;

    /// <summary>Segment ids, oldest first.</summary>
    public IReadOnlyCollection<ulong> SegmentIds => _segments.Keys;

    /// <summary>Bytes discarded from a torn tail during recovery.</summary>
    public long TruncatedBytes { get; private set; }

    /// <summary>Highest sequence any segment name promises (a segment is named by the next sequence at its creation).</summary>
    public ulong HighestSegmentBase => _segments.Count == 0 ? 0 : _segments.Keys.Max();

    /// <summary>Bytes of whole records in segment <paramref name="id"/>.</summary>
    public long SegmentEnd(ulong id) => _segments.GetValueOrDefault(id);

    public static string FileName(string prefix, ulong id) => $"{prefix}{id:D20}{Suffix}";

    /// <summary>
    /// Opens the log and returns every whole record at or after (<paramref name="fromSegment"/>,
    /// <paramref name="fromOffset"/>); cuts a torn tail off the newest segment.
    /// </summary>
    public List<RecordInfo> Recover(ulong fromSegment, long fromOffset, Action<string> warn)
    {
        var found = new List<RecordInfo>();
        foreach (var name in _storage.List(_prefix))
        {
            if (!name.EndsWith(Suffix, StringComparison.Ordinal)
                || !ulong.TryParse(name.AsSpan(_prefix.Length, name.Length - _prefix.Length - Suffix.Length), out var id))
            {
                continue;
            }

            _segments[id] = 0;
        }

        var ids = _segments.Keys.ToList();
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            var last = i == ids.Count - 1;
            using var s = _storage.OpenWrite(FileName(_prefix, id));
            var length = s.Length;
            long start = id < fromSegment ? -1 : id == fromSegment ? fromOffset : 0;
            long validEnd;
            if (start < 0)
            {
                // Indexed already: trust the length, but the newest segment is always checked below.
                validEnd = length;
                if (last)
                {
                    validEnd = Scan(s, 0, id, null);
                }
            }
            else
            {
                if (start > length)
                {
                    start = 0;
                }

                validEnd = Scan(s, start, id, found);
                if (start > 0 && validEnd == start && start < length)
                {
                    // The index pointed into the middle of something that is not a record boundary
                    // any more: rescan the segment from its start.
                    found.RemoveAll(r => r.SegmentId == id);
                    validEnd = Scan(s, 0, id, found);
                }
            }

            if (validEnd < length)
            {
                if (last)
                {
                    warn($"Cut {length - validEnd} bytes of an unfinished write off the end of {FileName(_prefix, id)} (a crash or power cut during a commit; those reads were never accepted).");
                    TruncatedBytes += length - validEnd;
                    s.SetLength(validEnd);
                    _storage.Sync(s);
                }
                else
                {
                    warn($"{FileName(_prefix, id)} has {length - validEnd} unreadable bytes after offset {validEnd}; the records before them are kept.");
                }
            }

            _segments[id] = validEnd;
            TotalBytes += validEnd;
            if (last)
            {
                _activeId = id;
                _activeEnd = validEnd;
                _activeHasRecords = validEnd > 0;
            }
        }

        return found;
    }

    /// <summary>Starts a fresh segment when recovery found none.</summary>
    public void EnsureActive(ulong nextSequence)
    {
        if (_active is not null)
        {
            return;
        }

        if (_segments.Count == 0)
        {
            _activeId = nextSequence;
            _activeEnd = 0;
            _activeHasRecords = false;
            _segments[_activeId] = 0;
        }

        _active = _storage.OpenWrite(FileName(_prefix, _activeId));
        if (_active.Length != _activeEnd)
        {
            _active.SetLength(_activeEnd);
        }

        _storage.SyncDirectory();
    }

    /// <summary>
    /// Adds a record to the pending group. The caller encodes the payload into <paramref name="encode"/>'s buffer.
    /// Returns where the record will be once <see cref="Commit"/> succeeds. On an exception the record
    /// is not in the group (and, when a segment roll failed, the group will fail its commit).
    /// </summary>
    public RecordInfo Append(ulong sequence, long createdUs, int count, Action<IBufferWriter<byte>> encode)
    {
        var headerAt = _pending.WrittenCount;
        try
        {
            _pending.GetSpan(HeaderBytes)[..HeaderBytes].Clear();
            _pending.Advance(HeaderBytes);
            encode(_pending);
        }
        catch
        {
            TruncatePending(headerAt);
            throw;
        }

        var payloadLength = _pending.WrittenCount - headerAt - HeaderBytes;
        if (payloadLength > WireLimits.MaxPayloadBytes)
        {
            TruncatePending(headerAt);
            throw new InvalidOperationException($"Encoded batch of {payloadLength} bytes exceeds the wire limit.");
        }

        // ArrayBufferWriter keeps written bytes contiguous, so the header can be filled in place.
        var written = System.Runtime.InteropServices.MemoryMarshal.AsMemory(_pending.WrittenMemory).Span;
        var header = written.Slice(headerAt, HeaderBytes);
        var payload = written.Slice(headerAt + HeaderBytes, payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)payloadLength);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], createdUs);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)count);
        header[28] = (byte)Class;
        BinaryPrimitives.WriteUInt32LittleEndian(header[32..], Crc32C.Compute(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(header[36..], Crc32C.Compute(header[..36]));

        // A record that would overflow a segment holding records starts a new segment. What the
        // group already holds is written to the old segment first; the group's commit then syncs
        // the new one. If any of that fails, the record is dropped and the whole group fails.
        var recordBytes = HeaderBytes + payloadLength;
        if ((_activeHasRecords || headerAt > 0) && _activeEnd + headerAt + recordBytes > _segmentBytes)
        {
            var record = _pending.WrittenSpan[headerAt..].ToArray();
            TruncatePending(headerAt);
            try
            {
                if (headerAt > 0)
                {
                    WritePending();
                }

                Roll(sequence);
            }
            catch (Exception ex)
            {
                _groupFailure ??= ex;
                _pending.ResetWrittenCount();
                throw;
            }

            _pending.Write(record);
            headerAt = 0;
        }

        _activeHasRecords = true;
        return new RecordInfo(sequence, Class, _activeId, _activeEnd + headerAt, payloadLength, count, createdUs);
    }

    /// <summary>
    /// Writes and syncs the pending group. On failure the segment is cut back to its last synced
    /// end and the exception is rethrown; a failure earlier in the group (a segment roll) is rethrown here too.
    /// </summary>
    public void Commit()
    {
        var earlier = _groupFailure;
        _groupFailure = null;
        if (earlier is not null)
        {
            _pending.ResetWrittenCount();
            throw new IOException($"Writing the group failed: {earlier.Message}", earlier);
        }

        if (_pending.WrittenCount == 0)
        {
            return;
        }

        WritePending();
    }

    /// <summary>Drops the pending group after a failed commit elsewhere.</summary>
    public void DiscardPending()
    {
        _pending.ResetWrittenCount();
        _groupFailure = null;
    }

    private void TruncatePending(int length)
    {
        if (length == _pending.WrittenCount)
        {
            return;
        }

        var keep = _pending.WrittenSpan[..length].ToArray();
        _pending.ResetWrittenCount();
        _pending.Write(keep);
    }

    private void WritePending()
    {
        var active = _active ?? throw new InvalidOperationException("The log is not open.");
        try
        {
            active.Position = _activeEnd;
            active.Write(_pending.WrittenSpan);
            _storage.Sync(active);
            _activeEnd += _pending.WrittenCount;
            TotalBytes += _pending.WrittenCount;
            _segments[_activeId] = _activeEnd;
        }
        catch
        {
            _pending.ResetWrittenCount();
            try
            {
                active.SetLength(_activeEnd);
            }
            catch (Exception)
            {
                // The next successful write lands at _activeEnd anyway; recovery stops at the first bad record.
            }

            _activeHasRecords = _activeEnd > 0;
            throw;
        }

        _pending.ResetWrittenCount();
    }

    private void Roll(ulong nextSequence)
    {
        // Open the new segment before giving up the old one, so a failure leaves the log appendable.
        var next = _storage.OpenWrite(FileName(_prefix, nextSequence));
        try
        {
            next.SetLength(0);
            _storage.SyncDirectory();
        }
        catch
        {
            next.Dispose();
            throw;
        }

        _active?.Dispose();
        _active = next;
        _activeId = nextSequence;
        _activeEnd = 0;
        _activeHasRecords = false;
        _segments[_activeId] = 0;
    }

    /// <summary>Closes the active segment so it can be deleted; the next append starts a new one.</summary>
    public void RollNow(ulong nextSequence)
    {
        if (_activeHasRecords)
        {
            Roll(nextSequence);
        }
    }

    /// <summary>Deletes a segment that is not active. Returns its size.</summary>
    public long DeleteSegment(ulong id)
    {
        if (id == _activeId || !_segments.TryGetValue(id, out var bytes))
        {
            return 0;
        }

        lock (_readGate)
        {
            if (_readers.Remove(id, out var r))
            {
                r.Dispose();
            }
        }

        _storage.Delete(FileName(_prefix, id));
        _segments.Remove(id);
        TotalBytes -= bytes;
        return bytes;
    }

    /// <summary>Reads and verifies one record's payload; null when the segment is gone or the bytes do not check out.</summary>
    public byte[]? ReadPayload(ulong segmentId, long offset, int length, ulong expectedSequence)
    {
        lock (_readGate)
        {
            try
            {
                if (!_readers.TryGetValue(segmentId, out var s))
                {
                    s = _storage.OpenRead(FileName(_prefix, segmentId));
                    _readers[segmentId] = s;
                }

                Span<byte> header = stackalloc byte[HeaderBytes];
                s.Position = offset;
                s.ReadExactly(header);
                if (!TryParseHeader(header, out var seq, out _, out var len, out _, out var payloadCrc) || seq != expectedSequence || len != length)
                {
                    return null;
                }

                var payload = new byte[length];
                s.ReadExactly(payload);
                return Crc32C.Compute(payload) == payloadCrc ? payload : null;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    private long Scan(Stream s, long start, ulong segmentId, List<RecordInfo>? found)
    {
        var length = s.Length;
        var pos = start;
        Span<byte> header = stackalloc byte[HeaderBytes];
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (length - pos >= HeaderBytes)
            {
                s.Position = pos;
                s.ReadExactly(header);
                if (!TryParseHeader(header, out var seq, out var created, out var len, out var count, out var payloadCrc)
                    || length - pos - HeaderBytes < len)
                {
                    break;
                }

                var crc = Crc32C.Seed;
                var left = len;
                while (left > 0)
                {
                    var n = s.Read(buffer, 0, Math.Min(left, buffer.Length));
                    if (n <= 0)
                    {
                        break;
                    }

                    crc = Crc32C.Append(crc, buffer.AsSpan(0, n));
                    left -= n;
                }

                if (left > 0 || Crc32C.Finish(crc) != payloadCrc)
                {
                    break;
                }

                found?.Add(new RecordInfo(seq, Class, segmentId, pos, len, count, created));
                pos += HeaderBytes + len;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return pos;
    }

    private bool TryParseHeader(ReadOnlySpan<byte> header, out ulong seq, out long created, out int len, out int count, out uint payloadCrc)
    {
        seq = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        created = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        var rawLen = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var rawCount = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
        payloadCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[32..]);
        len = (int)Math.Min(rawLen, int.MaxValue);
        count = (int)Math.Min(rawCount, int.MaxValue);
        return BinaryPrimitives.ReadUInt32LittleEndian(header) == Magic
            && BinaryPrimitives.ReadUInt32LittleEndian(header[36..]) == Crc32C.Compute(header[..36])
            && header[28] == (byte)Class
            && rawLen <= WireLimits.MaxPayloadBytes
            && rawCount <= WireLimits.MaxRecords;
    }

    public void Dispose()
    {
        _active?.Dispose();
        _active = null;
        lock (_readGate)
        {
            foreach (var r in _readers.Values)
            {
                r.Dispose();
            }

            _readers.Clear();
        }
    }
}
