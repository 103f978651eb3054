using System.Data.Common;
using EdgeStream.Tracking.Storage.Sql;
using Npgsql;
using NpgsqlTypes;

namespace EdgeStream.Tracking.Storage.Postgres;

/// <summary>
/// Placements set-based on PostgreSQL: each statement takes whole columns as arrays (<c>unnest</c>), so a
/// batch of ten thousand placements costs a few round trips instead of several per placement.
/// </summary>
internal sealed class PostgresBulkHistory : IBulkHistory
{
    public async Task<Dictionary<string, LatestInterval>> LatestAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> epcs, CancellationToken cancellationToken)
    {
        // One backward index probe per tag (the lateral LIMIT 1), over every partition of history.
        await using var cmd = Command(
            connection,
            transaction,
            "SELECT v.e, h.from_us, h.to_us, h.zone_id FROM unnest(@e) AS v(e) CROSS JOIN LATERAL (SELECT from_us, to_us, zone_id FROM history WHERE epc = v.e ORDER BY from_us DESC LIMIT 1) AS h");
        Texts(cmd, "e", epcs);
        var latest = new Dictionary<string, LatestInterval>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            latest[r.GetString(0)] = new LatestInterval(r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetInt64(3));
        }

        return latest;
    }

    public async Task<Dictionary<string, TagHolder>> HoldersAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> epcs, CancellationToken cancellationToken)
    {
        await using var cmd = Command(
            connection,
            transaction,
            "SELECT t.epc, t.asset_id, a.since_us FROM asset_tags t JOIN assets a ON a.id = t.asset_id WHERE t.to_us IS NULL AND t.epc = ANY(@e)");
        Texts(cmd, "e", epcs);
        var holders = new Dictionary<string, TagHolder>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            holders[r.GetString(0)] = new TagHolder(r.GetString(1), r.IsDBNull(2) ? null : r.GetInt64(2));
        }

        return holders;
    }

    public async Task AddUnregisteredAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> epcs, long nowUs, CancellationToken cancellationToken)
    {
        await using var assets = Command(connection, transaction, "INSERT INTO assets (id, registered, created_us, updated_us) SELECT e, 0, @t, @t FROM unnest(@e) AS v(e) ON CONFLICT (id) DO NOTHING");
        Texts(assets, "e", epcs);
        assets.Parameters.Add(new NpgsqlParameter<long>("t", nowUs));
        await assets.ExecuteNonQueryAsync(cancellationToken);

        await using var tags = Command(connection, transaction, "INSERT INTO asset_tags (epc, asset_id, from_us) SELECT e, e, @f FROM unnest(@e) AS v(e) ON CONFLICT (epc, from_us) DO NOTHING");
        Texts(tags, "e", epcs);
        tags.Parameters.Add(new NpgsqlParameter<long>("f", long.MinValue));
        await tags.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task WriteAsync(DbConnection connection, DbTransaction transaction, PlacementPlan plan, CancellationToken cancellationToken)
    {
        if (plan.Closes.Count > 0)
        {
            await using var cmd = Command(connection, transaction, "UPDATE history AS h SET to_us = v.t, close_event = v.o FROM unnest(@e, @f, @t, @o) AS v(e, f, t, o) WHERE h.epc = v.e AND h.from_us = v.f");
            Texts(cmd, "e", plan.Closes.Select(x => x.Epc));
            Longs(cmd, "f", plan.Closes.Select(x => (long?)x.FromUs));
            Longs(cmd, "t", plan.Closes.Select(x => (long?)x.ToUs));
            Texts(cmd, "o", plan.Closes.Select(x => x.CloseEvent));
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }

        if (plan.Inserts.Count > 0)
        {
            await using var cmd = Command(
                connection,
                transaction,
                "INSERT INTO history (epc, from_us, to_us, zone_id, gateway_id, open_event, close_event, late, output_id) SELECT * FROM unnest(@e, @f, @to, @z, @g, @o, @c, @l, @id) ON CONFLICT (epc, from_us) DO NOTHING");
            var rows = plan.Inserts;
            Texts(cmd, "e", rows.Select(x => x.Epc));
            Longs(cmd, "f", rows.Select(x => (long?)x.FromUs));
            Longs(cmd, "to", rows.Select(x => x.ToUs));
            Longs(cmd, "z", rows.Select(x => x.ZoneId));
            Texts(cmd, "g", rows.Select(x => x.GatewayId));
            Texts(cmd, "o", rows.Select(x => x.OpenEvent));
            Texts(cmd, "c", rows.Select(x => x.CloseEvent));
            cmd.Parameters.Add(new NpgsqlParameter<int[]>("l", [.. rows.Select(x => x.Late ? 1 : 0)]));
            Texts(cmd, "id", rows.Select(x => x.OutputId));
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }

        if (plan.Locations.Count > 0)
        {
            await using var cmd = Command(
                connection,
                transaction,
                "UPDATE assets AS a SET loc_epc = v.e, zone_id = v.z, since_us = v.t, gateway_id = v.g FROM unnest(@a, @e, @z, @t, @g) AS v(a, e, z, t, g) WHERE a.id = v.a AND (a.since_us IS NULL OR a.since_us <= v.t)");
            var rows = plan.Locations.Values.ToList();
            Texts(cmd, "a", rows.Select(x => x.AssetId));
            Texts(cmd, "e", rows.Select(x => x.Epc));
            Longs(cmd, "z", rows.Select(x => x.ZoneId));
            Longs(cmd, "t", rows.Select(x => (long?)x.SinceUs));
            Texts(cmd, "g", rows.Select(x => x.GatewayId));
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }

        if (plan.Changes.Count > 0)
        {
            // In batch order, so the change feed's sequence follows the placements.
            await using var cmd = Command(
                connection,
                transaction,
                "INSERT INTO changes (asset_id, epc, zone_id, at_us) SELECT a, e, z, t FROM unnest(@a, @e, @z, @t) WITH ORDINALITY AS v(a, e, z, t, n) ORDER BY n");
            Texts(cmd, "a", plan.Changes.Select(x => x.AssetId));
            Texts(cmd, "e", plan.Changes.Select(x => x.Epc));
            Longs(cmd, "z", plan.Changes.Select(x => x.ZoneId));
            Longs(cmd, "t", plan.Changes.Select(x => (long?)x.AtUs));
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static NpgsqlCommand Command(DbConnection connection, DbTransaction transaction, string sql) =>
        new(sql, (NpgsqlConnection)connection, (NpgsqlTransaction)transaction);

    private static void Texts(NpgsqlCommand cmd, string name, IEnumerable<string?> values) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.ToArray() });

    private static void Longs(NpgsqlCommand cmd, string name, IEnumerable<long?> values) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = values.ToArray() });
}
