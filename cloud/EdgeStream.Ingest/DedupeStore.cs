using System.Buffers.Binary;
using System.Text;

namespace EdgeStream.Ingest;

/// <summary>
/// Remembers, durably, which (gateway, sequence) batches were appended to the log, so a redelivered
/// batch is dropped instead of appended twice. Per gateway it keeps the seen sequence numbers as
/// ranges (one range while nothing is missing; one more per gap), journalled to disk with group
/// commit (concurrent completions share an fsync) and compacted into a snapshot at open and when the
/// journal grows large.
/// </summary>
internal sealed class DedupeStore : IDisposable
{
    private const int MaxEntryBytes = 1 + Contracts.Topics.MaxGatewayIdLength * 4 + 16 + 8;
    private const long CompactBeyondBytes = 64L * 1024 * 1024;

    private readonly string _path;
    private readonly int _maxGaps;
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private readonly Dictionary<string, List<(ulong Lo, ulong Hi)>> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, ulong), TaskCompletionSource<bool>> _inFlight = [];
    private Journal _journal;
    private long _written;
    private long _flushed;

    private DedupeStore(string path, int maxGaps)
    {
        _path = path;
        _maxGaps = maxGaps;
        _journal = null!;
    }

    /// <summary>What <see cref="TryBeginAsync"/> decided.</summary>
    public enum Decision
    {
        /// <summary>Not seen: append it, then call <see cref="CompleteAsync"/> (or <see cref="Abort"/> on failure).</summary>
        New,

        /// <summary>Already appended: drop it.</summary>
        Duplicate,
    }

    /// <summary>Bytes cut from a torn journal tail at open.</summary>
    public long RecoveredTruncatedBytes { get; private set; }

    /// <summary>Loads the journal (a torn tail is ignored); call <see cref="StartJournal"/> before use.</summary>
    public static DedupeStore Load(string directory, int maxGaps)
    {
        Directory.CreateDirectory(directory);
        var store = new DedupeStore(Path.Combine(directory, "dedupe.journal"), maxGaps);
        Journal.ReadAll(store._path, MaxEntryBytes, store.Replay);
        return store;
    }

    /// <summary>Marks a batch found complete in the log during recovery (made durable by <see cref="StartJournal"/>).</summary>
    public void MarkRecovered(string gatewayId, ulong sequence)
    {
        lock (_lock)
        {
            Add(gatewayId, sequence, sequence);
        }
    }

    /// <summary>Writes a compact snapshot of what is known (one entry per range) and opens the journal for appends.</summary>
    public void StartJournal()
    {
        Journal.WriteAtomic(_path, Snapshot());
        _journal = Journal.Open(_path, MaxEntryBytes, _ => { }, out var truncated);
        RecoveredTruncatedBytes = truncated;
    }

    /// <summary>
    /// Decides whether a batch is new. A batch already being appended by another delivery is waited
    /// for: if that append fails, this delivery becomes the one that appends.
    /// </summary>
    public async ValueTask<Decision> TryBeginAsync(string gatewayId, ulong sequence, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<bool> other;
            lock (_lock)
            {
                if (Contains(gatewayId, sequence))
                {
                    return Decision.Duplicate;
                }

                if (!_inFlight.TryGetValue((gatewayId, sequence), out var tcs))
                {
                    _inFlight[(gatewayId, sequence)] = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    return Decision.New;
                }

                other = tcs.Task;
            }

            await other.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Releases a batch whose append failed, so a redelivery can append it.</summary>
    public void Abort(string gatewayId, ulong sequence)
    {
        TaskCompletionSource<bool>? tcs;
        lock (_lock)
        {
            _inFlight.Remove((gatewayId, sequence), out tcs);
        }

        tcs?.TrySetResult(false);
    }

    /// <summary>Marks a batch as appended and returns once that mark is durable.</summary>
    public async Task CompleteAsync(string gatewayId, ulong sequence, CancellationToken cancellationToken)
    {
        long ticket;
        TaskCompletionSource<bool>? tcs;
        lock (_lock)
        {
            Add(gatewayId, sequence, sequence);
            _inFlight.Remove((gatewayId, sequence), out tcs);
            _journal.Append(Entry(gatewayId, sequence, sequence));
            ticket = ++_written;
        }

        tcs?.TrySetResult(true);
        await FlushAsync(ticket, cancellationToken);
    }

    /// <summary>True when (gateway, sequence) is known to be appended.</summary>
    public bool IsSeen(string gatewayId, ulong sequence)
    {
        lock (_lock)
        {
            return Contains(gatewayId, sequence);
        }
    }

    /// <summary>Number of ranges kept for <paramref name="gatewayId"/> (1 + the gaps).</summary>
    public int RangeCount(string gatewayId)
    {
        lock (_lock)
        {
            return _seen.TryGetValue(gatewayId, out var r) ? r.Count : 0;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _journal.Dispose();
        }
    }

    private async Task FlushAsync(long ticket, CancellationToken cancellationToken)
    {
        // Group commit: whoever holds the flush lock syncs everything written so far, so the
        // completions queued behind it usually find their entry already durable.
        await _flushLock.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _flushed) >= ticket)
            {
                return;
            }

            long target;
            Journal journal;
            lock (_lock)
            {
                _journal.FlushToOs();
                target = _written;
                journal = _journal;
            }

            await Task.Run(journal.SyncToDisk, CancellationToken.None);
            Volatile.Write(ref _flushed, target);
            if (journal.Length > CompactBeyondBytes)
            {
                Compact();
            }
        }
        finally
        {
            _flushLock.Release();
        }
    }

    private void Compact()
    {
        lock (_lock)
        {
            _journal.Dispose();
            Journal.WriteAtomic(_path, Snapshot());
            _journal = Journal.Open(_path, MaxEntryBytes, _ => { }, out _);
        }
    }

    private List<byte[]> Snapshot()
    {
        var entries = new List<byte[]>();
        foreach (var (gateway, ranges) in _seen)
        {
            foreach (var (lo, hi) in ranges)
            {
                entries.Add(Entry(gateway, lo, hi));
            }
        }

        return entries;
    }

    // Entry: gatewayLength:u8 gateway:utf8 lo:u64 hi:u64 (little-endian): sequences lo..hi were appended.
    private static byte[] Entry(string gatewayId, ulong lo, ulong hi)
    {
        var n = Encoding.UTF8.GetByteCount(gatewayId);
        var body = new byte[1 + n + 16];
        body[0] = (byte)n;
        Encoding.UTF8.GetBytes(gatewayId, body.AsSpan(1));
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(1 + n), lo);
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(9 + n), hi);
        return body;
    }

    private void Replay(ReadOnlySpan<byte> body)
    {
        var n = body[0];
        if (body.Length != 1 + n + 16)
        {
            return;
        }

        var gateway = Encoding.UTF8.GetString(body.Slice(1, n));
        var lo = BinaryPrimitives.ReadUInt64LittleEndian(body[(1 + n)..]);
        var hi = BinaryPrimitives.ReadUInt64LittleEndian(body[(9 + n)..]);
        if (lo <= hi)
        {
            Add(gateway, lo, hi);
        }
    }

    private bool Contains(string gatewayId, ulong sequence)
    {
        if (!_seen.TryGetValue(gatewayId, out var ranges))
        {
            return false;
        }

        var i = IndexAtOrBefore(ranges, sequence);
        return i >= 0 && sequence <= ranges[i].Hi;
    }

    private void Add(string gatewayId, ulong lo, ulong hi)
    {
        if (!_seen.TryGetValue(gatewayId, out var ranges))
        {
            ranges = [];
            _seen[gatewayId] = ranges;
        }

        var i = IndexAtOrBefore(ranges, lo);
        if (i >= 0 && ranges[i].Hi != ulong.MaxValue && lo <= ranges[i].Hi + 1)
        {
            ranges[i] = (ranges[i].Lo, Math.Max(ranges[i].Hi, hi));
        }
        else
        {
            i++;
            ranges.Insert(i, (lo, hi));
        }

        // Absorb following ranges the grown one now touches.
        while (i + 1 < ranges.Count && ranges[i].Hi != ulong.MaxValue && ranges[i + 1].Lo <= ranges[i].Hi + 1)
        {
            ranges[i] = (ranges[i].Lo, Math.Max(ranges[i].Hi, ranges[i + 1].Hi));
            ranges.RemoveAt(i + 1);
        }

        while (ranges.Count > _maxGaps + 1)
        {
            // Close the oldest gap: memory stays bounded if a gateway's lost batches never come.
            ranges[0] = (ranges[0].Lo, ranges[1].Hi);
            ranges.RemoveAt(1);
        }
    }

    private static int IndexAtOrBefore(List<(ulong Lo, ulong Hi)> ranges, ulong value)
    {
        int lo = 0, hi = ranges.Count - 1, best = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (ranges[mid].Lo <= value)
            {
                best = mid;
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
