using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using EdgeStream.Contracts;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>
/// The tracking store on a relational database. Statements are plain SQL that SQLite and PostgreSQL
/// both run (<c>ON CONFLICT</c>, <c>RETURNING</c>, row values); <see cref="SqlDialect"/> holds the rest.
/// </summary>
/// <remarks>
/// <para>Invariant: every EPC the store has seen has exactly one open row in <c>asset_tags</c> (the asset
/// that holds it now, a placeholder "unregistered" asset whose id is the EPC when nobody registered it).
/// The registry keeps it when it moves tags, so the writer may cache which EPCs it has seen.</para>
/// <para>History is per tag: rows (epc, from, to, zone) that never overlap for one tag. A placement is
/// spliced in at its time: the interval holding that time is cut there, so a late event lands where it
/// belongs and replaying a placement finds its own row and changes nothing.</para>
/// </remarks>
public partial class SqlTrackingStore : ITrackingStore, IWorkflowStore, IManualEventStore, INotificationStore
{
    private const long Forever = long.MaxValue;

    /// <summary>From this many placements in a batch, a provider with <see cref="SqlDialect.Bulk"/> writes them set-based.</summary>
    private const int BulkPlacements = 4;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SqlDialect _dialect;
    private readonly ConcurrentDictionary<string, string> _gatewaySites = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Site, string Name), long> _zoneIds = new();
    private readonly ConcurrentDictionary<long, string> _zoneNames = new();
    private readonly ConcurrentDictionary<string, byte> _knownTags = new(StringComparer.Ordinal);

    /// <summary>Creates the store over a dialect.</summary>
    public SqlTrackingStore(SqlDialect dialect) => _dialect = dialect;

    /// <inheritdoc />
    public string Provider => _dialect.Provider;

    /// <summary>The newest schema version this build knows.</summary>
    public static int LatestSchemaVersion => Migrations.Latest;

    /// <inheritdoc />
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using (var create = c.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_us BIGINT NOT NULL)";
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        await _dialect.LockForMigrationAsync(c, tx, cancellationToken);
        var current = await VersionAsync(c, tx, cancellationToken);
        foreach (var (version, name, statements) in Migrations.All)
        {
            if (version <= current)
            {
                continue;
            }

            foreach (var sql in statements(_dialect))
            {
                await ExecAsync(c, tx, sql, cancellationToken);
            }

            await ExecAsync(c, tx, "INSERT INTO schema_version (version, name, applied_us) VALUES (@v, @n, @t)", cancellationToken, ("@v", version), ("@n", name), ("@t", EventTimes.NowUs()));
        }

        await tx.CommitAsync(cancellationToken);
        return Math.Max(current, Migrations.Latest);
    }

    /// <inheritdoc />
    public async Task<int> SchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        try
        {
            return await VersionAsync(c, null, cancellationToken);
        }
        catch (DbException)
        {
            return 0;
        }
    }

    /// <inheritdoc />
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT 1";
        await cmd.ExecuteScalarAsync(cancellationToken);
    }

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async Task ApplyAsync(TrackingBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await using var c = await _dialect.OpenAsync(cancellationToken);

        // Zones and gateways first, each committed on its own: their ids are cached, and an id from a
        // transaction that later rolled back would point at nothing.
        var zoneOf = new Dictionary<(string Gateway, string Zone), long>();
        foreach (var p in batch.Placements)
        {
            foreach (var name in new[] { p.Zone, p.LeftZone })
            {
                if (name is not null && !zoneOf.ContainsKey((p.GatewayId, name)))
                {
                    zoneOf[(p.GatewayId, name)] = await ZoneIdAsync(c, p.GatewayId, name, cancellationToken);
                }
            }
        }

        if (batch.Placements.Count > 0)
        {
            await _dialect.PrepareHistoryAsync(c, batch.Placements.Min(p => p.TimeUs), batch.Placements.Max(p => p.TimeUs), cancellationToken);
        }

        var seen = new List<string>();
        await using var tx = await c.BeginTransactionAsync(cancellationToken);

        // Every statement of the batch is prepared once and run with new values for each record.
        await using var q = new CommandCache(c, tx);
        var lastSeen = new Dictionary<string, (long TimeUs, string GatewayId)>(StringComparer.Ordinal);
        void Saw(string epc, long t, string gateway)
        {
            if (!lastSeen.TryGetValue(epc, out var prior) || prior.TimeUs < t)
            {
                lastSeen[epc] = (t, gateway);
            }
        }

        (long? Zone, long? Left) ZonesOf(PlacementRecord p) =>
            (p.Zone is null ? null : zoneOf[(p.GatewayId, p.Zone)], p.LeftZone is null ? null : zoneOf[(p.GatewayId, p.LeftZone)]);

        var oneByOne = batch.Placements;
        if (_dialect.Bulk is { } bulk && batch.Placements.Count >= BulkPlacements)
        {
            oneByOne = await ApplyInBulkAsync(bulk, c, tx, batch.Placements, ZonesOf, seen, cancellationToken);
        }

        foreach (var p in oneByOne)
        {
            await EnsureTagAsync(q, p.Epc, seen, cancellationToken);
            var (zone, left) = ZonesOf(p);
            await SpliceAsync(q, p, zone, left, cancellationToken);
        }

        foreach (var p in batch.Placements)
        {
            Saw(p.Epc, p.TimeUs, p.GatewayId);
        }

        foreach (var s in batch.Sightings)
        {
            await EnsureTagAsync(q, s.Epc, seen, cancellationToken);
            Saw(s.Epc, s.TimeUs, s.GatewayId);
        }

        await SeenAsync(q, lastSeen, cancellationToken);
        await ApplyWorkflowAsync(q, batch.Workflow, seen, cancellationToken);
        foreach (var s in batch.Scans)
        {
            // Already in the log: kept appended, once per scan however often the job emits it.
            await EnsureTagAsync(q, s.Epc, seen, cancellationToken);
            await q.ExecAsync(
                "INSERT INTO manual_events (client_id, event_id, asset_id, epc, kind, zone, action, until_us, by_actor, reason, event_us, received_us, appended) " +
                "VALUES (@c, @i, (SELECT asset_id FROM asset_tags WHERE epc = @e AND to_us IS NULL), @e, @k, @z, NULL, 0, @b, @r, @t, @now, 1) ON CONFLICT (client_id) DO NOTHING",
                cancellationToken,
                ("@c", s.ClientId),
                ("@i", s.EventId),
                ("@e", s.Epc),
                ("@k", KindName(ManualKind.Place)),
                ("@z", s.Zone),
                ("@b", s.By),
                ("@r", s.Reason),
                ("@t", s.TimeUs),
                ("@now", EventTimes.NowUs()));
        }

        foreach (var l in batch.Late)
        {
            await q.ExecAsync(
                "INSERT INTO late_events (partition_no, log_offset, epc, gateway_id, kind, zone, event_us, watermark_us, detail, event_id) VALUES (@p, @o, @e, @g, @k, @z, @t, @w, @d, @i) ON CONFLICT (partition_no, log_offset) DO NOTHING",
                cancellationToken,
                ("@p", l.Partition),
                ("@o", l.Offset),
                ("@e", l.Epc),
                ("@g", l.GatewayId),
                ("@k", l.Kind),
                ("@z", l.Zone),
                ("@t", l.EventTimeUs),
                ("@w", l.WatermarkUs),
                ("@d", l.Detail),
                ("@i", l.EventId));
        }

        await tx.CommitAsync(cancellationToken);
        foreach (var epc in seen)
        {
            _knownTags.TryAdd(epc, 0);
        }

        if (_knownTags.Count > 4_000_000)
        {
            _knownTags.Clear();
        }
    }

    /// <inheritdoc />
    public async Task<long> PurgeHistoryAsync(long beforeUs, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        var n = await _dialect.PurgeHistoryAsync(c, beforeUs, cancellationToken);
        await ExecAsync(c, null, "DELETE FROM changes WHERE at_us < @b", cancellationToken, ("@b", beforeUs));
        return n;
    }

    internal static void Add(DbCommand cmd, string name, object? value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
    }

    internal static async Task<int> ExecAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    internal static async Task<object?> ScalarAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        var v = await cmd.ExecuteScalarAsync(ct);
        return v is DBNull ? null : v;
    }

    internal static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            Add(cmd, name, value);
        }

        return cmd;
    }

    private static long? NullableLong(DbDataReader r, int i) => r.IsDBNull(i) ? null : Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);

    private static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static async Task<int> VersionAsync(DbConnection c, DbTransaction? tx, CancellationToken ct) =>
        Convert.ToInt32(await ScalarAsync(c, tx, "SELECT COALESCE(MAX(version), 0) FROM schema_version", ct) ?? 0, CultureInfo.InvariantCulture);

    private async Task<long> ZoneIdAsync(DbConnection c, string gatewayId, string zone, CancellationToken ct)
    {
        if (!_gatewaySites.TryGetValue(gatewayId, out var site))
        {
            await ExecAsync(c, null, "INSERT INTO gateways (id, site_id) VALUES (@g, 'default') ON CONFLICT (id) DO NOTHING", ct, ("@g", gatewayId));
            site = (string)(await ScalarAsync(c, null, "SELECT site_id FROM gateways WHERE id = @g", ct, ("@g", gatewayId)))!;
            _gatewaySites[gatewayId] = site;
        }

        if (_zoneIds.TryGetValue((site, zone), out var id))
        {
            return id;
        }

        // A zone the cloud does not know yet is created under the gateway's site from the first event naming it.
        await ExecAsync(c, null, "INSERT INTO zones (site_id, name, kind, auto_created) VALUES (@s, @n, 'unknown', 1) ON CONFLICT (site_id, name) DO NOTHING", ct, ("@s", site), ("@n", zone));
        id = Convert.ToInt64(await ScalarAsync(c, null, "SELECT id FROM zones WHERE site_id = @s AND name = @n", ct, ("@s", site), ("@n", zone)), CultureInfo.InvariantCulture);
        _zoneIds[(site, zone)] = id;
        _zoneNames[id] = zone;
        return id;
    }

    /// <summary>
    /// Writes the placements that <see cref="PlacementPlanner"/> can plan in memory with a handful of
    /// set-based statements, and returns the rest, in batch order, for <see cref="SpliceAsync"/>.
    /// </summary>
    private static async Task<IReadOnlyList<PlacementRecord>> ApplyInBulkAsync(
        IBulkHistory bulk, DbConnection c, DbTransaction tx, IReadOnlyList<PlacementRecord> placements,
        Func<PlacementRecord, (long? Zone, long? Left)> zones, List<string> seen, CancellationToken ct)
    {
        var epcs = placements.Select(p => p.Epc).Distinct(StringComparer.Ordinal).ToList();
        var holders = await bulk.HoldersAsync(c, tx, epcs, ct);
        var missing = epcs.Where(e => !holders.ContainsKey(e)).ToList();
        if (missing.Count > 0)
        {
            // Nobody registered these EPCs: unregistered assets, shown and filterable, never dropped.
            await bulk.AddUnregisteredAsync(c, tx, missing, EventTimes.NowUs(), ct);
            foreach (var (epc, holder) in await bulk.HoldersAsync(c, tx, missing, ct))
            {
                holders[epc] = holder;
            }
        }

        seen.AddRange(epcs);
        var latest = await bulk.LatestAsync(c, tx, epcs, ct);
        var plan = new PlacementPlan();
        var rest = PlacementPlanner.Plan(placements, zones, latest, holders, plan);
        await bulk.WriteAsync(c, tx, plan, ct);
        return rest;
    }

    private async Task EnsureTagAsync(CommandCache q, string epc, List<string> seen, CancellationToken ct)
    {
        if (_knownTags.ContainsKey(epc))
        {
            return;
        }

        var held = await q.ScalarAsync("SELECT asset_id FROM asset_tags WHERE epc = @e AND to_us IS NULL", ct, ("@e", epc));
        if (held is null)
        {
            // Nobody registered this EPC: an unregistered asset, shown and filterable, never dropped.
            await q.ExecAsync("INSERT INTO assets (id, registered, created_us, updated_us) VALUES (@e, 0, @t, @t) ON CONFLICT (id) DO NOTHING", ct, ("@e", epc), ("@t", EventTimes.NowUs()));
            await q.ExecAsync("INSERT INTO asset_tags (epc, asset_id, from_us) VALUES (@e, @e, @f) ON CONFLICT (epc, from_us) DO NOTHING", ct, ("@e", epc), ("@f", long.MinValue));
        }

        seen.Add(epc);
    }

    /// <summary>
    /// Last-seen of tags and their assets, a chunk of tags per statement: sightings are most of what the
    /// job writes, and one multi-row upsert costs about what one row does.
    /// </summary>
    private static async Task SeenAsync(CommandCache q, Dictionary<string, (long TimeUs, string GatewayId)> lastSeen, CancellationToken ct)
    {
        const int chunk = 200;
        var rows = lastSeen.ToList();
        for (var start = 0; start < rows.Count; start += chunk)
        {
            var n = Math.Min(chunk, rows.Count - start);
            var args = new (string, object?)[n * 3];
            var values = new System.Text.StringBuilder();
            var names = new System.Text.StringBuilder();
            for (var i = 0; i < n; i++)
            {
                var (epc, (t, gw)) = rows[start + i];
                args[(i * 3) + 0] = ("@e" + i, epc);
                args[(i * 3) + 1] = ("@t" + i, t);
                args[(i * 3) + 2] = ("@g" + i, gw);
                values.Append(i == 0 ? string.Empty : ", ").Append("(@e").Append(i).Append(", @t").Append(i).Append(", @g").Append(i).Append(')');
                names.Append(i == 0 ? string.Empty : ", ").Append("@e").Append(i);
            }

            await q.ExecAsync(
                "INSERT INTO tags (epc, last_seen_us, gateway_id) VALUES " + values + " ON CONFLICT (epc) DO UPDATE SET last_seen_us = excluded.last_seen_us, gateway_id = excluded.gateway_id WHERE excluded.last_seen_us > tags.last_seen_us",
                ct,
                args);
            await q.ExecAsync(
                "UPDATE assets SET last_seen_us = v.t FROM (SELECT at.asset_id AS a, MAX(tg.last_seen_us) AS t FROM asset_tags at JOIN tags tg ON tg.epc = at.epc WHERE at.to_us IS NULL AND at.epc IN (" + names + ") GROUP BY at.asset_id) AS v WHERE assets.id = v.a AND (assets.last_seen_us IS NULL OR assets.last_seen_us < v.t)",
                ct,
                [.. args.Where((_, i) => i % 3 == 0)]);
        }
    }

    private static async Task SpliceAsync(CommandCache q, PlacementRecord p, long? zone, long? left, CancellationToken ct)
    {
        long? rFrom = null, rTo = null, rZone = null;
        var cmd = q.Get("SELECT from_us, to_us, zone_id FROM history WHERE epc = @e AND from_us <= @t ORDER BY from_us DESC LIMIT 1", ("@e", p.Epc), ("@t", p.TimeUs));
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            if (await r.ReadAsync(ct))
            {
                rFrom = NullableLong(r, 0);
                rTo = NullableLong(r, 1);
                rZone = NullableLong(r, 2);
            }
        }

        var departure = p.Zone is null;
        if (departure && (rFrom is null || rZone != left))
        {
            // Leaving a zone the tag was not in at that time (another gateway has placed it since): nothing to record.
            return;
        }

        if (rFrom is not null && rZone == zone)
        {
            // Already there: a replay of this placement, or no change.
            return;
        }

        long? newTo;
        if (rFrom == p.TimeUs)
        {
            // Two events at the same instant: the one the job ordered last wins.
            await q.ExecAsync("UPDATE history SET zone_id = @z, gateway_id = @g, open_event = @o, late = @l WHERE epc = @e AND from_us = @t", ct, ("@z", zone), ("@g", p.GatewayId), ("@o", p.EventId), ("@l", p.Late ? 1 : 0), ("@e", p.Epc), ("@t", p.TimeUs));
            newTo = rTo;
        }
        else
        {
            if (rFrom is not null)
            {
                newTo = rTo;
                await q.ExecAsync("UPDATE history SET to_us = @t, close_event = @o WHERE epc = @e AND from_us = @f", ct, ("@t", p.TimeUs), ("@o", p.EventId), ("@e", p.Epc), ("@f", rFrom));
            }
            else
            {
                var next = await q.ScalarAsync("SELECT MIN(from_us) FROM history WHERE epc = @e AND from_us > @t", ct, ("@e", p.Epc), ("@t", p.TimeUs));
                newTo = next is null ? null : Convert.ToInt64(next, CultureInfo.InvariantCulture);
            }

            await q.ExecAsync(
                "INSERT INTO history (epc, from_us, to_us, zone_id, gateway_id, open_event, close_event, late, output_id) VALUES (@e, @f, @to, @z, @g, @o, NULL, @l, @id) ON CONFLICT (epc, from_us) DO NOTHING",
                ct,
                ("@e", p.Epc),
                ("@f", p.TimeUs),
                ("@to", newTo),
                ("@z", zone),
                ("@g", p.GatewayId),
                ("@o", p.EventId),
                ("@l", p.Late ? 1 : 0),
                ("@id", p.OutputId));
        }

        if (newTo is null)
        {
            // The tag's newest interval: it is where the tag, and so its asset, is now.
            var asset = await q.ScalarAsync(
                "UPDATE assets SET loc_epc = @e, zone_id = @z, since_us = @t, gateway_id = @g WHERE id = (SELECT asset_id FROM asset_tags WHERE epc = @e AND to_us IS NULL) AND (since_us IS NULL OR since_us <= @t) RETURNING id",
                ct,
                ("@e", p.Epc),
                ("@z", zone),
                ("@t", p.TimeUs),
                ("@g", p.GatewayId));
            if (asset is string id)
            {
                await q.ExecAsync("INSERT INTO changes (asset_id, epc, zone_id, at_us) VALUES (@a, @e, @z, @t)", ct, ("@a", id), ("@e", p.Epc), ("@z", zone), ("@t", p.TimeUs));
            }
        }
    }

    /// <summary>
    /// The commands of one transaction, each created and prepared on first use and then run again with
    /// new values (arguments are always given in the same order for the same text).
    /// </summary>
    internal sealed class CommandCache(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
    {
        private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

        public DbCommand Get(string sql, params (string Name, object? Value)[] args)
        {
            if (_commands.TryGetValue(sql, out var cmd))
            {
                for (var i = 0; i < args.Length; i++)
                {
                    cmd.Parameters[i].Value = args[i].Value ?? DBNull.Value;
                }

                return cmd;
            }

            cmd = Command(connection, transaction, sql, args);
            _commands[sql] = cmd;
            return cmd;
        }

        public async Task<int> ExecAsync(string sql, CancellationToken ct, params (string Name, object? Value)[] args) =>
            await Get(sql, args).ExecuteNonQueryAsync(ct);

        public async Task<object?> ScalarAsync(string sql, CancellationToken ct, params (string Name, object? Value)[] args)
        {
            var v = await Get(sql, args).ExecuteScalarAsync(ct);
            return v is DBNull ? null : v;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var cmd in _commands.Values)
            {
                await cmd.DisposeAsync();
            }
        }
    }

    private static string AttributesJson(IReadOnlyDictionary<string, string>? attributes) =>
        JsonSerializer.Serialize(attributes ?? new Dictionary<string, string>(), Json);

    private static Dictionary<string, string> ParseAttributes(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(json, Json) ?? [];
}
