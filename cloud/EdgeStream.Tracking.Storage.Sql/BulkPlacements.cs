using System.Data.Common;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>A tag's newest history interval.</summary>
public readonly record struct LatestInterval(long FromUs, long? ToUs, long? ZoneId);

/// <summary>The asset that holds a tag now, and since when that asset is where it is.</summary>
public readonly record struct TagHolder(string AssetId, long? SinceUs);

/// <summary>A new history row.</summary>
public sealed record HistoryRow(string Epc, long FromUs, long? ZoneId, string GatewayId, string OpenEvent, bool Late, string OutputId)
{
    /// <summary>Set when a later placement of the same batch closes it.</summary>
    public long? ToUs { get; set; }

    /// <summary>The event that closed it.</summary>
    public string? CloseEvent { get; set; }
}

/// <summary>An existing open interval closed at <see cref="ToUs"/>.</summary>
public readonly record struct HistoryClose(string Epc, long FromUs, long ToUs, string CloseEvent);

/// <summary>Where an asset is now.</summary>
public readonly record struct LocationUpdate(string AssetId, string Epc, long? ZoneId, long SinceUs, string GatewayId);

/// <summary>A row of the change feed.</summary>
public readonly record struct ChangeRow(string AssetId, string Epc, long? ZoneId, long AtUs);

/// <summary>What a batch of in-order placements writes, computed before any of it is written.</summary>
public sealed class PlacementPlan
{
    /// <summary>Rows to insert, in batch order.</summary>
    public List<HistoryRow> Inserts { get; } = [];

    /// <summary>Existing open intervals to close.</summary>
    public List<HistoryClose> Closes { get; } = [];

    /// <summary>The newest location per asset.</summary>
    public Dictionary<string, LocationUpdate> Locations { get; } = new(StringComparer.Ordinal);

    /// <summary>Change-feed rows, in batch order.</summary>
    public List<ChangeRow> Changes { get; } = [];
}

/// <summary>
/// Set-based reads and writes of placements, for a provider where a round trip per statement is the
/// cost (PostgreSQL over a socket): the store reads every tag's newest interval and holder in one
/// statement each, plans the batch in memory, and writes it in four.
/// </summary>
public interface IBulkHistory
{
    /// <summary>The newest interval of each tag that has one.</summary>
    Task<Dictionary<string, LatestInterval>> LatestAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> epcs, CancellationToken cancellationToken);

    /// <summary>The asset holding each tag that has one.</summary>
    Task<Dictionary<string, TagHolder>> HoldersAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> epcs, CancellationToken cancellationToken);

    /// <summary>Makes each tag an unregistered asset of its own (as <c>EnsureTag</c> does one by one).</summary>
    Task AddUnregisteredAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> epcs, long nowUs, CancellationToken cancellationToken);

    /// <summary>Writes the plan.</summary>
    Task WriteAsync(DbConnection connection, DbTransaction transaction, PlacementPlan plan, CancellationToken cancellationToken);
}

/// <summary>
/// Plans placements the way <c>SpliceAsync</c> applies them one by one, for the common case: every
/// placement of a tag in the batch is newer than the tag's newest interval, which is open, and no other
/// tag of the same asset is in the batch. Tags outside that case (late splices, replays, assets with two
/// tags moving at once) are handed back for the one-by-one path.
/// </summary>
internal static class PlacementPlanner
{
    public static List<PlacementRecord> Plan(
        IReadOnlyList<PlacementRecord> placements,
        Func<PlacementRecord, (long? Zone, long? Left)> zones,
        IReadOnlyDictionary<string, LatestInterval> latest,
        IReadOnlyDictionary<string, TagHolder> holders,
        PlacementPlan plan)
    {
        var slowTags = new HashSet<string>(StringComparer.Ordinal);
        var newest = new Dictionary<string, long>(StringComparer.Ordinal);
        var tagOfAsset = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in placements)
        {
            var floor = newest.TryGetValue(p.Epc, out var t) ? t : latest.TryGetValue(p.Epc, out var l) ? l.FromUs : long.MinValue;
            if (p.TimeUs <= floor || (latest.TryGetValue(p.Epc, out var open) && open.ToUs is not null))
            {
                slowTags.Add(p.Epc);
            }

            newest[p.Epc] = Math.Max(p.TimeUs, floor);
            var asset = holders[p.Epc].AssetId;
            if (tagOfAsset.TryGetValue(asset, out var other) && other != p.Epc)
            {
                slowTags.Add(other);
                slowTags.Add(p.Epc);
            }

            tagOfAsset[asset] = p.Epc;
        }

        var slow = new List<PlacementRecord>();
        var current = new Dictionary<string, (long From, long? Zone, HistoryRow? Pending)>(StringComparer.Ordinal);
        var since = new Dictionary<string, long?>(StringComparer.Ordinal);
        foreach (var p in placements)
        {
            if (slowTags.Contains(p.Epc))
            {
                slow.Add(p);
                continue;
            }

            var (zone, left) = zones(p);
            (long From, long? Zone, HistoryRow? Pending)? cur =
                current.TryGetValue(p.Epc, out var c) ? c
                : latest.TryGetValue(p.Epc, out var l) ? (l.FromUs, l.ZoneId, null)
                : null;
            if (p.Zone is null && (cur is null || cur.Value.Zone != left))
            {
                // Leaving a zone the tag was not in at that time: nothing to record.
                continue;
            }

            if (cur is { } known)
            {
                if (known.Zone == zone)
                {
                    // Already there.
                    continue;
                }

                if (known.Pending is { } pending)
                {
                    pending.ToUs = p.TimeUs;
                    pending.CloseEvent = p.EventId;
                }
                else
                {
                    plan.Closes.Add(new HistoryClose(p.Epc, known.From, p.TimeUs, p.EventId));
                }
            }

            var row = new HistoryRow(p.Epc, p.TimeUs, zone, p.GatewayId, p.EventId, p.Late, p.OutputId);
            plan.Inserts.Add(row);
            current[p.Epc] = (p.TimeUs, zone, row);

            // The tag's newest interval: where its asset is now, unless the asset was placed later.
            var holder = holders[p.Epc];
            var assetSince = since.TryGetValue(holder.AssetId, out var s) ? s : holder.SinceUs;
            if (assetSince is null || assetSince <= p.TimeUs)
            {
                since[holder.AssetId] = p.TimeUs;
                plan.Locations[holder.AssetId] = new LocationUpdate(holder.AssetId, p.Epc, zone, p.TimeUs, p.GatewayId);
                plan.Changes.Add(new ChangeRow(holder.AssetId, p.Epc, zone, p.TimeUs));
            }
        }

        return slow;
    }
}
