using System.Buffers.Binary;
using System.Text;

namespace EdgeStream.Ingest;

/// <summary>A refused payload as kept by the dead-letter store.</summary>
/// <param name="Id">Increasing id.</param>
/// <param name="ReceivedAt">When ingest refused it.</param>
/// <param name="GatewayId">The sending gateway (authenticated id, or the topic's), or null when unknown.</param>
/// <param name="Topic">The MQTT topic it arrived on.</param>
/// <param name="Reason">Stable reason code (<see cref="DeadLetterReasons"/>).</param>
/// <param name="Detail">Human-readable explanation: what and where.</param>
/// <param name="OriginalLength">The payload's length as received.</param>
/// <param name="Payload">The raw bytes (at most <see cref="IngestOptions.MaxDeadLetterPayloadBytes"/>).</param>
public sealed record DeadLetter(long Id, DateTimeOffset ReceivedAt, string? GatewayId, string Topic, string Reason, string Detail, int OriginalLength, byte[] Payload);

/// <summary>Filters for <see cref="DeadLetterStore.Query"/>; newest first.</summary>
public sealed record DeadLetterQuery
{
    /// <summary>Only this gateway's.</summary>
    public string? GatewayId { get; init; }

    /// <summary>Only this reason.</summary>
    public string? Reason { get; init; }

    /// <summary>Only those received at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>At most this many.</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>The reason codes ingest uses (also the <c>reason</c> label of <c>edgestream_cloud_deadletter_total</c>).</summary>
public static class DeadLetterReasons
{
    /// <summary>Not an EdgeStream batch (magic bytes).</summary>
    public const string BadMagic = "bad_magic";

    /// <summary>A batch version this build does not read.</summary>
    public const string UnsupportedVersion = "unsupported_version";

    /// <summary>Ends inside a field.</summary>
    public const string Truncated = "truncated";

    /// <summary>CRC-32C mismatch.</summary>
    public const string BadChecksum = "bad_checksum";

    /// <summary>A count or length beyond the format's limits.</summary>
    public const string LimitExceeded = "limit_exceeded";

    /// <summary>Structurally invalid.</summary>
    public const string Malformed = "malformed";

    /// <summary>Larger than <see cref="IngestOptions.MaxPayloadBytes"/>.</summary>
    public const string Oversize = "oversize";

    /// <summary>The batch's gateway id is not the sender's.</summary>
    public const string GatewayMismatch = "gateway_mismatch";

    /// <summary>Reads on the events topic or events on the reads topic.</summary>
    public const string ClassMismatch = "class_mismatch";

    /// <summary>Not a topic of the EdgeStream scheme.</summary>
    public const string UnknownTopic = "unknown_topic";

    /// <summary>The reason code for a wire-format error.</summary>
    public static string For(Contracts.Wire.WireError error) => error switch
    {
        Contracts.Wire.WireError.BadMagic => BadMagic,
        Contracts.Wire.WireError.UnsupportedVersion => UnsupportedVersion,
        Contracts.Wire.WireError.Truncated => Truncated,
        Contracts.Wire.WireError.BadChecksum => BadChecksum,
        Contracts.Wire.WireError.LimitExceeded => LimitExceeded,
        _ => Malformed,
    };
}

/// <summary>
/// Durable, queryable store of refused payloads with their reason and raw bytes, so an operator can see
/// what a gateway sent and why it was refused. Two append-only checksummed files (current and previous):
/// when the current one reaches half the size bound it becomes the previous and the older previous is
/// dropped, its entries counted as evicted. Each add is fsynced before it returns.
/// </summary>
public sealed class DeadLetterStore : IDisposable
{
    private readonly string _currentPath;
    private readonly string _previousPath;
    private readonly int _maxPayloadBytes;
    private readonly long _maxBytes;
    private readonly Lock _lock = new();
    private readonly Action<long>? _onEvicted;
    private Journal _current;
    private long _nextId;
    private long _currentCount;
    private long _previousCount;

    private DeadLetterStore(string directory, int maxPayloadBytes, long maxBytes, Action<long>? onEvicted)
    {
        _currentPath = Path.Combine(directory, "deadletters.log");
        _previousPath = Path.Combine(directory, "deadletters.previous.log");
        _maxPayloadBytes = maxPayloadBytes;
        _maxBytes = maxBytes;
        _onEvicted = onEvicted;
        _current = null!;
    }

    private int MaxEntryBytes => _maxPayloadBytes + (4 * 1024) + 3 * 2 * 1024;

    /// <summary>Dead letters kept.</summary>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _currentCount + _previousCount;
            }
        }
    }

    /// <summary>Opens (or creates) the store in <paramref name="directory"/>.</summary>
    public static DeadLetterStore Open(string directory, int maxPayloadBytes, long maxBytes, Action<long>? onEvicted = null)
    {
        Directory.CreateDirectory(directory);
        var store = new DeadLetterStore(directory, maxPayloadBytes, maxBytes, onEvicted);
        long maxId = 0;
        Journal.ReadAll(store._previousPath, store.MaxEntryBytes, body =>
        {
            store._previousCount++;
            maxId = Math.Max(maxId, BinaryPrimitives.ReadInt64LittleEndian(body));
        });
        store._current = Journal.Open(store._currentPath, store.MaxEntryBytes, body =>
        {
            store._currentCount++;
            maxId = Math.Max(maxId, BinaryPrimitives.ReadInt64LittleEndian(body));
        }, out _);
        store._nextId = maxId + 1;
        return store;
    }

    /// <summary>Stores a refused payload durably and returns its id.</summary>
    public long Add(DateTimeOffset receivedAt, string? gatewayId, string topic, string reason, string detail, ReadOnlySpan<byte> payload, int originalLength)
    {
        var kept = payload[..Math.Min(payload.Length, _maxPayloadBytes)];
        reason = Cut(reason);
        gatewayId = Cut(gatewayId ?? string.Empty);
        topic = Cut(topic);
        detail = Cut(detail);
        var body = new byte[8 + 8 + 4 + Str(reason) + Str(gatewayId) + Str(topic) + Str(detail) + kept.Length];
        lock (_lock)
        {
            var id = _nextId++;
            var pos = 0;
            BinaryPrimitives.WriteInt64LittleEndian(body, id);
            BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), Contracts.EventTimes.ToUnixMicroseconds(receivedAt));
            BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(16), originalLength);
            pos = 20;
            pos += WriteStr(body.AsSpan(pos), reason);
            pos += WriteStr(body.AsSpan(pos), gatewayId);
            pos += WriteStr(body.AsSpan(pos), topic);
            pos += WriteStr(body.AsSpan(pos), detail);
            kept.CopyTo(body.AsSpan(pos));

            if (_current.Length + body.Length + 8 > _maxBytes / 2 && _currentCount > 0)
            {
                Rotate();
            }

            _current.Append(body);
            _current.Flush();
            _currentCount++;
            return id;
        }
    }

    /// <summary>Dead letters matching <paramref name="query"/>, newest first.</summary>
    public IReadOnlyList<DeadLetter> Query(DeadLetterQuery query)
    {
        var all = new List<DeadLetter>();
        lock (_lock)
        {
            _current.FlushToOs();
            foreach (var path in new[] { _previousPath, _currentPath })
            {
                Journal.ReadAll(path, MaxEntryBytes, body =>
                {
                    var d = Parse(body);
                    if ((query.GatewayId is null || d.GatewayId == query.GatewayId)
                        && (query.Reason is null || d.Reason == query.Reason)
                        && (query.Since is null || d.ReceivedAt >= query.Since))
                    {
                        all.Add(d);
                    }
                });
            }
        }

        all.Reverse();
        return all.Count > query.Limit ? all.GetRange(0, Math.Max(0, query.Limit)) : all;
    }

    /// <summary>Closes the files.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _current.Dispose();
        }
    }

    private void Rotate()
    {
        _current.Dispose();
        var evicted = _previousCount;
        File.Move(_currentPath, _previousPath, overwrite: true);
        EdgeStream.EventLog.Embedded.DurableIoAccess.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(_currentPath))!);
        _previousCount = _currentCount;
        _currentCount = 0;
        _current = Journal.Open(_currentPath, MaxEntryBytes, _ => { }, out _);
        if (evicted > 0)
        {
            _onEvicted?.Invoke(evicted);
        }
    }

    private static DeadLetter Parse(ReadOnlySpan<byte> body)
    {
        var id = BinaryPrimitives.ReadInt64LittleEndian(body);
        var at = Contracts.EventTimes.FromUnixMicroseconds(BinaryPrimitives.ReadInt64LittleEndian(body[8..]));
        var length = BinaryPrimitives.ReadInt32LittleEndian(body[16..]);
        var pos = 20;
        var reason = ReadStr(body, ref pos);
        var gateway = ReadStr(body, ref pos);
        var topic = ReadStr(body, ref pos);
        var detail = ReadStr(body, ref pos);
        return new DeadLetter(id, at, gateway.Length == 0 ? null : gateway, topic, reason, detail, length, body[pos..].ToArray());
    }

    private static int Str(string s) => 2 + Encoding.UTF8.GetByteCount(s);

    // Topics and details come from the network: keep at most 2 KiB of each, cut on a character boundary.
    private static string Cut(string s)
    {
        while (Encoding.UTF8.GetByteCount(s) > 2048)
        {
            s = s[..(s.Length * 3 / 4)];
        }

        return s;
    }

    private static int WriteStr(Span<byte> destination, string s)
    {
        var n = Encoding.UTF8.GetBytes(s, destination[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)n);
        return 2 + n;
    }

    private static string ReadStr(ReadOnlySpan<byte> body, ref int pos)
    {
        var n = BinaryPrimitives.ReadUInt16LittleEndian(body[pos..]);
        var s = Encoding.UTF8.GetString(body.Slice(pos + 2, n));
        pos += 2 + n;
        return s;
    }
}
