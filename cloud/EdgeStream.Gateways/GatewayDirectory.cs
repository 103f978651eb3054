using System.Collections.Concurrent;
using EdgeStream.Contracts;

namespace EdgeStream.Gateways;

/// <summary>A gateway as <c>GET /api/gateways</c> and the portal show it.</summary>
/// <remarks>
/// <see cref="ClockSkewMs"/> is how far the gateway's event times run ahead of the cloud's clock (negative:
/// behind), null until ingest has measured it; <see cref="ClockCorrectionMs"/> is what ingest subtracts
/// from its event times now (0 within the threshold). See <c>docs/tracking.md</c>.
/// </remarks>
public sealed record GatewayView(
    string GatewayId, bool Online, DateTime? LastSeen, long BufferReads, long BufferBytes,
    string? ConfigVersion, ulong LastSequence, long Batches, long Reads, long Events,
    long? ClockSkewMs = null, long ClockCorrectionMs = 0);

/// <summary>
/// What the cloud knows of each gateway: online (from its retained status and will message, and
/// from silence longer than the configured timeout), last seen (arrival time of its last message),
/// buffer depth and applied configuration version (from its status).
/// </summary>
public sealed class GatewayDirectory(TimeProvider clock, TimeSpan timeout)
{
    private readonly ConcurrentDictionary<string, Entry> _gateways = new(StringComparer.Ordinal);

    /// <summary>Records that an authenticated gateway published something: it is alive now.</summary>
    public void OnTraffic(string gatewayId)
    {
        var e = _gateways.GetOrAdd(gatewayId, id => new Entry(id));
        lock (e)
        {
            e.LastSeen = clock.GetUtcNow();
            e.Connected = true;
        }
    }

    /// <summary>Records a batch read back from the event log (replayed at start too, so it does not touch liveness).</summary>
    public void OnLogged(string gatewayId, ulong sequence, DataClass dataClass, int count)
    {
        var e = _gateways.GetOrAdd(gatewayId, id => new Entry(id));
        lock (e)
        {
            e.LastSequence = Math.Max(e.LastSequence, sequence);
            e.Batches++;
            if (dataClass == DataClass.Reads)
            {
                e.Reads += count;
            }
            else
            {
                e.Events += count;
            }
        }
    }

    /// <summary>Records a status message (including the will message, which says offline).</summary>
    public void OnStatus(GatewayStatus status)
    {
        var e = _gateways.GetOrAdd(status.GatewayId, id => new Entry(id));
        lock (e)
        {
            e.Connected = status.Online;
            e.LastSeen = clock.GetUtcNow();
            e.BufferReads = status.BufferReads;
            e.BufferBytes = status.BufferBytes;
            e.ConfigVersion = status.ConfigVersion ?? e.ConfigVersion;
        }
    }

    /// <summary>
    /// Records that the broker accepted an MQTT connection whose client id is a known gateway's.
    /// Unknown client ids are not gateways until they publish under a gateway topic.
    /// </summary>
    public void OnConnected(string gatewayId)
    {
        if (!_gateways.TryGetValue(gatewayId, out var e))
        {
            return;
        }

        lock (e)
        {
            e.Connected = true;
            e.Session = true;
            e.LastSeen = clock.GetUtcNow();
        }
    }

    /// <summary>Records that the broker saw the gateway's MQTT connection close.</summary>
    public void OnDisconnected(string gatewayId)
    {
        if (_gateways.TryGetValue(gatewayId, out var e))
        {
            lock (e)
            {
                e.Connected = false;
                e.Session = false;
            }
        }
    }

    /// <summary>Ingest's clock measurements, in a process that runs ingest.</summary>
    public ClockSkew? ClockSkew { get; set; }

    /// <summary>Every gateway, ordered by id, with its clock skew once ingest has measured it.</summary>
    public IReadOnlyList<GatewayView> Snapshot()
    {
        var skew = ClockSkew;
        var now = clock.GetUtcNow();
        var nowUs = EventTimes.ToUnixMicroseconds(now);
        return _gateways.Values.OrderBy(e => e.Id, StringComparer.Ordinal).Select(e =>
        {
            lock (e)
            {
                // Connected at the broker is online however quiet; a gateway behind an external broker
                // (no connection events) is online while its status says so and it is not silent.
                var online = e.Connected && (e.Session || (e.LastSeen is { } seen && now - seen <= timeout));
                var skewMs = skew?.SkewUs(e.Id, nowUs) / 1000;
                var correctionMs = (skew?.CorrectionUs(e.Id, nowUs) ?? 0) / 1000;
                return new GatewayView(e.Id, online, e.LastSeen?.UtcDateTime, e.BufferReads, e.BufferBytes, e.ConfigVersion, e.LastSequence, e.Batches, e.Reads, e.Events, skewMs, correctionMs);
            }
        }).ToList();
    }

    private sealed class Entry(string id)
    {
        public string Id { get; } = id;

        public bool Connected { get; set; }

        public bool Session { get; set; }

        public DateTimeOffset? LastSeen { get; set; }

        public long BufferReads { get; set; }

        public long BufferBytes { get; set; }

        public string? ConfigVersion { get; set; }

        public ulong LastSequence { get; set; }

        public long Batches { get; set; }

        public long Reads { get; set; }

        public long Events { get; set; }
    }
}
