using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeStream.Contracts;

namespace EdgeStream.Cloud.Assets;

/// <summary>Where an asset is now, as the portal and <c>GET /api/assets</c> show it.</summary>
public sealed record AssetView(string Epc, string? Zone, string GatewayId, DateTime LastSeen, string? ReaderId, int Antenna, double? Rssi);

/// <summary>
/// The latest known zone and sighting of every tag. Zone changes come from the edge's presence
/// events in event time; raw reads refresh last-seen. An older event never overwrites a newer one,
/// so redelivered or replayed batches cannot move an asset backwards.
/// </summary>
public sealed class AssetDirectory
{
    private readonly ConcurrentDictionary<Epc, Entry> _assets = new();
    private readonly List<Channel<AssetView>> _watchers = [];
    private readonly Lock _watchersLock = new();
    private long _watchDropped;

    /// <summary>Number of tracked assets.</summary>
    public int Count => _assets.Count;

    /// <summary>Changes not delivered to a slow live-view client (its queue was full; it gets a fresh snapshot on reconnect).</summary>
    public long WatchDropped => Interlocked.Read(ref _watchDropped);

    /// <summary>Applies a batch from a gateway.</summary>
    public void Apply(Batch batch)
    {
        foreach (var e in batch.Events)
        {
            Update(e.Epc, batch.GatewayId, e.EventTimeUs, e.Kind == PresenceKind.Depart ? null : e.Zone, zoneKnown: true, null, 0, e.PeakRssiCentiDbm);
        }

        foreach (var r in batch.Reads)
        {
            Update(r.Epc, batch.GatewayId, r.EventTimeUs, null, zoneKnown: false, r.ReaderId, r.Antenna, r.RssiCentiDbm);
        }
    }

    /// <summary>Applies one record read back from the event log.</summary>
    public void Apply(in EdgeStream.Contracts.Wire.LogEntry entry)
    {
        if (entry.Class == DataClass.Presence)
        {
            var e = entry.Presence;
            Update(e.Epc, entry.GatewayId, e.EventTimeUs, e.Kind == PresenceKind.Depart ? null : e.Zone, zoneKnown: true, null, 0, e.PeakRssiCentiDbm);
        }
        else
        {
            var r = entry.Read;
            Update(r.Epc, entry.GatewayId, r.EventTimeUs, null, zoneKnown: false, r.ReaderId, r.Antenna, r.RssiCentiDbm);
        }
    }

    /// <summary>Every asset, ordered by EPC.</summary>
    public IReadOnlyList<AssetView> Snapshot() =>
        _assets.OrderBy(kv => kv.Key).Select(kv => kv.Value.View).ToList();

    /// <summary>One asset, or null.</summary>
    public AssetView? Find(Epc epc) => _assets.TryGetValue(epc, out var e) ? e.View : null;

    /// <summary>
    /// Subscribes to changes. The channel is bounded: a client that does not keep up loses
    /// intermediate changes (counted) rather than growing memory; the newest state always arrives.
    /// </summary>
    public ChannelReader<AssetView> Watch(CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<AssetView>(new BoundedChannelOptions(1024)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ => Interlocked.Increment(ref _watchDropped));
        lock (_watchersLock)
        {
            _watchers.Add(channel);
        }

        cancellationToken.Register(() =>
        {
            lock (_watchersLock)
            {
                _watchers.Remove(channel);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    private void Update(Epc epc, string gatewayId, long timeUs, string? zone, bool zoneKnown, string? reader, int antenna, short rssi)
    {
        AssetView? changed = null;
        _assets.AddOrUpdate(
            epc,
            _ =>
            {
                var e = new Entry(epc, gatewayId, timeUs, zone, zoneKnown ? timeUs : long.MinValue, reader, antenna, rssi);
                changed = e.View;
                return e;
            },
            (_, e) =>
            {
                lock (e)
                {
                    var moved = false;
                    if (zoneKnown && timeUs >= e.ZoneTimeUs)
                    {
                        moved = e.Zone != zone;
                        e.Zone = zone;
                        e.ZoneTimeUs = timeUs;
                    }

                    if (timeUs >= e.LastSeenUs)
                    {
                        e.LastSeenUs = timeUs;
                        e.GatewayId = gatewayId;
                        if (reader is not null)
                        {
                            e.ReaderId = reader;
                            e.Antenna = antenna;
                            e.Rssi = rssi;
                        }

                        moved = true;
                    }

                    if (moved)
                    {
                        e.Refresh();
                        changed = e.View;
                    }

                    return e;
                }
            });
        if (changed is not null)
        {
            Publish(changed);
        }
    }

    private void Publish(AssetView view)
    {
        lock (_watchersLock)
        {
            foreach (var w in _watchers)
            {
                w.Writer.TryWrite(view);
            }
        }
    }

    private sealed class Entry
    {
        private readonly string _epcText;

        public Entry(Epc epc, string gatewayId, long timeUs, string? zone, long zoneTimeUs, string? reader, int antenna, short rssi)
        {
            _epcText = epc.ToString();
            GatewayId = gatewayId;
            LastSeenUs = timeUs;
            Zone = zone;
            ZoneTimeUs = zoneTimeUs;
            ReaderId = reader;
            Antenna = antenna;
            Rssi = rssi;
            Refresh();
        }

        public string GatewayId { get; set; }

        public long LastSeenUs { get; set; }

        public string? Zone { get; set; }

        public long ZoneTimeUs { get; set; }

        public string? ReaderId { get; set; }

        public int Antenna { get; set; }

        public short Rssi { get; set; }

        public AssetView View { get; private set; } = null!;

        public void Refresh() => View = new AssetView(
            _epcText, Zone, GatewayId, EventTimes.FromUnixMicroseconds(LastSeenUs).UtcDateTime, ReaderId, Antenna,
            Rssi == TagRead.NoRssi ? null : Rssi / 100.0);
    }
}
