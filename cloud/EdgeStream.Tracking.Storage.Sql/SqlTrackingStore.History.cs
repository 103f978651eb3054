using System.Data.Common;
using System.Globalization;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>History, "where was it at T", late events and the change feed.</summary>
public partial class SqlTrackingStore
{
    // An asset's history is its tags' intervals while each tag was the asset's, clipped to that time.
    private const string AssetHistory =
        "SELECT t.epc, h.from_us, h.to_us, h.zone_id, z.name, h.gateway_id, h.open_event, h.close_event, h.late, t.from_us, t.to_us, m.kind, m.by_actor, m.reason " +
        "FROM asset_tags t JOIN history h ON h.epc = t.epc LEFT JOIN zones z ON z.id = h.zone_id LEFT JOIN manual_events m ON m.event_id = h.open_event " +
        "WHERE t.asset_id = @a AND h.zone_id IS NOT NULL AND (t.to_us IS NULL OR h.from_us < t.to_us) AND (h.to_us IS NULL OR h.to_us > t.from_us)";

    /// <inheritdoc />
    public async Task<Page<HistoryInterval>> HistoryAsync(string assetId, long fromUs, long toUs, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var sql = AssetHistory + " AND h.from_us < @to AND (h.to_us IS NULL OR h.to_us > @from)";
        var args = new List<(string, object?)> { ("@a", assetId), ("@from", fromUs), ("@to", toUs) };
        if (cursor is not null)
        {
            var p = Cursor.Decode(cursor, 2);
            sql += " AND (h.from_us > @cf OR (h.from_us = @cf AND t.epc > @ce))";
            args.Add(("@cf", Cursor.Long(p[0], cursor)));
            args.Add(("@ce", p[1]));
        }

        sql += $" ORDER BY h.from_us, t.epc LIMIT {(limit + 1).ToString(CultureInfo.InvariantCulture)}";
        await using var c = await _dialect.OpenAsync(cancellationToken);
        var items = await ReadHistoryAsync(c, assetId, sql, cancellationToken, [.. args]);
        var more = items.Count > limit;
        var page = more ? items.Take(limit).ToList() : items;
        return new Page<HistoryInterval>(page, more ? Cursor.Encode(page[^1].FromUs.ToString(CultureInfo.InvariantCulture), page[^1].Epc) : null);
    }

    /// <inheritdoc />
    public async Task<HistoryInterval?> WhereAtAsync(string assetId, long atUs, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        var found = await ReadHistoryAsync(
            c,
            assetId,
            AssetHistory + " AND h.from_us <= @at AND (h.to_us IS NULL OR h.to_us > @at) AND t.from_us <= @at AND (t.to_us IS NULL OR t.to_us > @at) ORDER BY h.from_us DESC LIMIT 1",
            cancellationToken,
            ("@a", assetId),
            ("@at", atUs));
        return found.Count > 0 ? found[0] : null;
    }

    /// <inheritdoc />
    public async Task<Page<LateRecord>> ListLateAsync(int limit, string? cursor, CancellationToken cancellationToken)
    {
        var sql = "SELECT seq, partition_no, log_offset, epc, gateway_id, kind, zone, event_us, watermark_us, detail, event_id FROM late_events";
        var args = new List<(string, object?)>();
        if (cursor is not null)
        {
            sql += " WHERE seq < @s";
            args.Add(("@s", Cursor.Long(Cursor.Decode(cursor, 1)[0], cursor)));
        }

        sql += $" ORDER BY seq DESC LIMIT {(limit + 1).ToString(CultureInfo.InvariantCulture)}";
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(c, null, sql, [.. args]);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var items = new List<(long Seq, LateRecord Record)>();
        while (await r.ReadAsync(cancellationToken))
        {
            items.Add((Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), new LateRecord(
                Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture),
                Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture),
                r.GetString(3),
                r.GetString(4),
                r.GetString(5),
                NullableString(r, 6),
                Convert.ToInt64(r.GetValue(7), CultureInfo.InvariantCulture),
                Convert.ToInt64(r.GetValue(8), CultureInfo.InvariantCulture),
                r.GetString(9),
                r.GetString(10))));
        }

        var more = items.Count > limit;
        var page = more ? items.Take(limit).ToList() : items;
        return new Page<LateRecord>([.. page.Select(x => x.Record)], more ? Cursor.Encode(page[^1].Seq.ToString(CultureInfo.InvariantCulture)) : null);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ChangeRecord>> ChangesAsync(long afterSequence, int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(
            c,
            null,
            $"SELECT ch.seq, ch.asset_id, ch.epc, ch.zone_id, z.name, ch.at_us FROM changes ch LEFT JOIN zones z ON z.id = ch.zone_id WHERE ch.seq > @s ORDER BY ch.seq LIMIT {limit.ToString(CultureInfo.InvariantCulture)}",
            ("@s", afterSequence));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var changes = new List<ChangeRecord>();
        while (await r.ReadAsync(cancellationToken))
        {
            changes.Add(new ChangeRecord(
                Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture),
                r.GetString(1),
                r.GetString(2),
                NullableString(r, 4),
                NullableLong(r, 3),
                Convert.ToInt64(r.GetValue(5), CultureInfo.InvariantCulture)));
        }

        return changes;
    }

    /// <inheritdoc />
    public async Task<long> LastChangeSequenceAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        return Convert.ToInt64(await ScalarAsync(c, null, "SELECT COALESCE(MAX(seq), 0) FROM changes", cancellationToken) ?? 0L, CultureInfo.InvariantCulture);
    }

    private static async Task<List<HistoryInterval>> ReadHistoryAsync(DbConnection c, string assetId, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(c, null, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var items = new List<HistoryInterval>();
        while (await r.ReadAsync(ct))
        {
            var from = Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture);
            var to = NullableLong(r, 2);
            var tagFrom = Convert.ToInt64(r.GetValue(9), CultureInfo.InvariantCulture);
            var tagTo = NullableLong(r, 10);

            // Clip to the time the tag was this asset's.
            if (from < tagFrom)
            {
                from = tagFrom;
            }

            if (tagTo is { } tt && (to is null || to > tt))
            {
                to = tt;
            }

            items.Add(new HistoryInterval(assetId, r.GetString(0), NullableString(r, 4), NullableLong(r, 3), from, to, NullableString(r, 5), NullableString(r, 6), NullableString(r, 7), Convert.ToInt64(r.GetValue(8), CultureInfo.InvariantCulture) != 0)
            {
                Manual = r.IsDBNull(11) ? null : new ManualMark(r.GetString(11), r.GetString(12), NullableString(r, 13)),
            });
        }

        return items;
    }
}
