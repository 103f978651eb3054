using System.Data.Common;
using System.Globalization;
using EdgeStream.Contracts;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>Sites, zones, gateways and the asset registry.</summary>
public partial class SqlTrackingStore
{
    private const string AssetColumns = "a.id, a.name, a.type, a.owner, a.home_zone, a.attributes, a.registered, a.loc_epc, a.zone_id, z.name, z.site_id, a.since_us, a.last_seen_us, a.gateway_id, a.workflow_id, a.state, a.state_since_us";
    private const string AssetFrom = "assets a LEFT JOIN zones z ON z.id = a.zone_id";

    /// <inheritdoc />
    public async Task UpsertSiteAsync(Site site, CancellationToken cancellationToken)
    {
        RequireId(site.Id, "site id");
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await ExecAsync(
            c,
            null,
            "INSERT INTO sites (id, name, parent, time_zone, attributes) VALUES (@i, @n, @p, @tz, @a) ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent = excluded.parent, time_zone = excluded.time_zone, attributes = excluded.attributes",
            cancellationToken,
            ("@i", site.Id),
            ("@n", string.IsNullOrWhiteSpace(site.Name) ? site.Id : site.Name),
            ("@p", site.Parent),
            ("@tz", site.TimeZone),
            ("@a", AttributesJson(site.Attributes)));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Site>> ListSitesAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(c, null, "SELECT id, name, parent, time_zone, attributes FROM sites ORDER BY id");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var sites = new List<Site>();
        while (await r.ReadAsync(cancellationToken))
        {
            sites.Add(new Site(r.GetString(0), r.GetString(1), NullableString(r, 2), NullableString(r, 3), ParseAttributes(r.GetString(4))));
        }

        return sites;
    }

    /// <inheritdoc />
    public async Task AssignGatewayAsync(string gatewayId, string siteId, CancellationToken cancellationToken)
    {
        RequireId(gatewayId, "gateway id");
        await using var c = await _dialect.OpenAsync(cancellationToken);
        if (await ScalarAsync(c, null, "SELECT id FROM sites WHERE id = @s", cancellationToken, ("@s", siteId)) is null)
        {
            throw new RegistryException($"Site '{siteId}' does not exist.");
        }

        await ExecAsync(c, null, "INSERT INTO gateways (id, site_id) VALUES (@g, @s) ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id", cancellationToken, ("@g", gatewayId), ("@s", siteId));
        _gatewaySites[gatewayId] = siteId;
    }

    /// <inheritdoc />
    public async Task<Zone> UpsertZoneAsync(ZoneInput zone, CancellationToken cancellationToken)
    {
        RequireId(zone.Name, "zone name");
        if (zone.Capacity is < 0)
        {
            throw new RegistryException($"Zone capacity {zone.Capacity} is invalid: use a count of 0 or more.");
        }

        await using var c = await _dialect.OpenAsync(cancellationToken);
        if (await ScalarAsync(c, null, "SELECT id FROM sites WHERE id = @s", cancellationToken, ("@s", zone.SiteId)) is null)
        {
            throw new RegistryException($"Site '{zone.SiteId}' does not exist.");
        }

        if (zone.ParentId is { } parent && await ScalarAsync(c, null, "SELECT id FROM zones WHERE id = @p", cancellationToken, ("@p", parent)) is null)
        {
            throw new RegistryException($"Parent zone {parent} does not exist.");
        }

        await ExecAsync(
            c,
            null,
            "INSERT INTO zones (site_id, name, kind, parent_id, capacity, attributes, auto_created) VALUES (@s, @n, @k, @p, @c, @a, 0) " +
            "ON CONFLICT (site_id, name) DO UPDATE SET kind = excluded.kind, parent_id = excluded.parent_id, capacity = excluded.capacity, attributes = excluded.attributes, auto_created = 0",
            cancellationToken,
            ("@s", zone.SiteId),
            ("@n", zone.Name),
            ("@k", string.IsNullOrWhiteSpace(zone.Kind) ? "room" : zone.Kind),
            ("@p", zone.ParentId),
            ("@c", zone.Capacity),
            ("@a", AttributesJson(zone.Attributes)));
        return (await QueryZonesAsync(c, "WHERE z.site_id = @s AND z.name = @n", cancellationToken, ("@s", zone.SiteId), ("@n", zone.Name)))[0].Zone;
    }

    /// <inheritdoc />
    public async Task<Zone?> FindZoneAsync(string idOrName, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        IReadOnlyList<ZoneCount> found;
        if (long.TryParse(idOrName, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            found = await QueryZonesAsync(c, "WHERE z.id = @i", cancellationToken, ("@i", id));
        }
        else if (idOrName.IndexOf('/', StringComparison.Ordinal) is var slash and > 0)
        {
            found = await QueryZonesAsync(c, "WHERE z.site_id = @s AND z.name = @n", cancellationToken, ("@s", idOrName[..slash]), ("@n", idOrName[(slash + 1)..]));
        }
        else
        {
            found = await QueryZonesAsync(c, "WHERE z.name = @n", cancellationToken, ("@n", idOrName));
        }

        return found.Count > 0 ? found[0].Zone : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ZoneCount>> ListZonesAsync(string? siteId, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        return siteId is null
            ? await QueryZonesAsync(c, string.Empty, cancellationToken)
            : await QueryZonesAsync(c, "WHERE z.site_id = @s", cancellationToken, ("@s", siteId));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OccupancyStep>> OccupancyAsync(long zoneId, long fromUs, long toUs, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        var start = Convert.ToInt64(
            await ScalarAsync(c, null, "SELECT COUNT(*) FROM history WHERE zone_id = @z AND from_us <= @f AND (to_us IS NULL OR to_us > @f)", cancellationToken, ("@z", zoneId), ("@f", fromUs)),
            CultureInfo.InvariantCulture);
        var deltas = new SortedDictionary<long, long>();
        await using (var cmd = Command(c, null, "SELECT from_us, 1 FROM history WHERE zone_id = @z AND from_us > @f AND from_us < @t UNION ALL SELECT to_us, -1 FROM history WHERE zone_id = @z AND to_us > @f AND to_us < @t", ("@z", zoneId), ("@f", fromUs), ("@t", toUs)))
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await r.ReadAsync(cancellationToken))
            {
                var at = Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture);
                deltas[at] = deltas.GetValueOrDefault(at) + Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture);
            }
        }

        var steps = new List<OccupancyStep> { new(fromUs, start) };
        var n = start;
        foreach (var (at, d) in deltas)
        {
            if (d != 0)
            {
                n += d;
                steps.Add(new OccupancyStep(at, n));
            }
        }

        return steps;
    }

    /// <inheritdoc />
    public async Task<Asset> UpsertAssetAsync(AssetInput input, long nowUs, CancellationToken cancellationToken)
    {
        var id = string.IsNullOrWhiteSpace(input.Id) ? "a-" + Guid.NewGuid().ToString("N")[..12] : input.Id.Trim();
        RequireId(id, "asset id");
        var tags = new List<string>();
        foreach (var t in input.Tags)
        {
            if (!Epc.TryParseHex(t, out var epc))
            {
                throw new RegistryException($"Tag '{t}' is not an EPC: expected an even number of hex digits.");
            }

            var hex = epc.ToString();
            if (!tags.Contains(hex))
            {
                tags.Add(hex);
            }
        }

        if (tags.Contains(id) && tags.Count >= 1 && id.Length > 0 && Epc.TryParseHex(id, out _))
        {
            throw new RegistryException($"Asset id '{id}' is an EPC: registered assets need an id of their own.");
        }

        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        var existing = await ScalarAsync(c, tx, "SELECT registered FROM assets WHERE id = @i", cancellationToken, ("@i", id));
        if (existing is not null && Convert.ToInt64(existing, CultureInfo.InvariantCulture) == 0)
        {
            throw new RegistryException($"'{id}' is an unregistered tag; register it under an asset id of its own with this EPC among its tags.");
        }

        if (existing is null)
        {
            await ExecAsync(c, tx, "INSERT INTO assets (id, registered, created_us, updated_us) VALUES (@i, 1, @t, @t)", cancellationToken, ("@i", id), ("@t", nowUs));
        }

        await ExecAsync(
            c,
            tx,
            "UPDATE assets SET name = @n, type = @ty, owner = @o, home_zone = @h, attributes = @a, updated_us = @t WHERE id = @i",
            cancellationToken,
            ("@n", input.Name),
            ("@ty", input.Type),
            ("@o", input.Owner),
            ("@h", input.HomeZone),
            ("@a", AttributesJson(input.Attributes)),
            ("@t", nowUs),
            ("@i", id));

        foreach (var epc in tags)
        {
            var holder = (string?)await ScalarAsync(c, tx, "SELECT asset_id FROM asset_tags WHERE epc = @e AND to_us IS NULL", cancellationToken, ("@e", epc));
            if (holder == id)
            {
                continue;
            }

            if (holder is null)
            {
                // A tag the store never saw: everything it learns of it, events stamped before this moment
                // included (a gateway's buffer, a late batch), is this asset's.
                await ExecAsync(c, tx, "INSERT INTO asset_tags (epc, asset_id, from_us) VALUES (@e, @i, @t)", cancellationToken, ("@e", epc), ("@i", id), ("@t", long.MinValue));
                continue;
            }

            var registered = Convert.ToInt64(await ScalarAsync(c, tx, "SELECT registered FROM assets WHERE id = @h", cancellationToken, ("@h", holder)), CultureInfo.InvariantCulture);
            if (registered != 0)
            {
                throw new RegistryException($"Tag {epc} belongs to asset '{holder}'; remove it there first.");
            }

            // An EPC seen before anyone ever registered it: the new asset adopts its history (tagged first,
            // registered later). A tag that another asset gave up is the new asset's only from now on.
            var since = Convert.ToInt64(await ScalarAsync(c, tx, "SELECT from_us FROM asset_tags WHERE epc = @e AND to_us IS NULL", cancellationToken, ("@e", epc)), CultureInfo.InvariantCulture);
            if (since == long.MinValue)
            {
                await ExecAsync(c, tx, "UPDATE asset_tags SET asset_id = @i WHERE epc = @e AND asset_id = @h", cancellationToken, ("@i", id), ("@e", epc), ("@h", holder));
                await ExecAsync(c, tx, "UPDATE changes SET asset_id = @i WHERE asset_id = @h", cancellationToken, ("@i", id), ("@h", holder));
            }
            else
            {
                await ExecAsync(c, tx, "UPDATE asset_tags SET to_us = @t WHERE epc = @e AND to_us IS NULL", cancellationToken, ("@t", nowUs), ("@e", epc));
                await ExecAsync(c, tx, "INSERT INTO asset_tags (epc, asset_id, from_us) VALUES (@e, @i, @t) ON CONFLICT (epc, from_us) DO UPDATE SET asset_id = excluded.asset_id, to_us = NULL", cancellationToken, ("@e", epc), ("@i", id), ("@t", nowUs));
            }

            await ExecAsync(c, tx, "DELETE FROM assets WHERE id = @h", cancellationToken, ("@h", holder));
        }

        // Tags the asset no longer has: closed now, and unregistered from now on if they are seen again.
        var dropped = new List<string>();
        await using (var cmd = Command(c, tx, "SELECT epc FROM asset_tags WHERE asset_id = @i AND to_us IS NULL", ("@i", id)))
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await r.ReadAsync(cancellationToken))
            {
                if (!tags.Contains(r.GetString(0)))
                {
                    dropped.Add(r.GetString(0));
                }
            }
        }

        foreach (var epc in dropped)
        {
            await ReleaseTagAsync(c, tx, epc, id, nowUs, cancellationToken);
        }

        await RefreshLocationAsync(c, tx, id, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return (await GetAssetAsync(id, cancellationToken))!;
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAssetAsync(string id, long nowUs, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        var registered = await ScalarAsync(c, tx, "SELECT registered FROM assets WHERE id = @i", cancellationToken, ("@i", id));
        if (registered is null || Convert.ToInt64(registered, CultureInfo.InvariantCulture) == 0)
        {
            return false;
        }

        var epcs = new List<string>();
        await using (var cmd = Command(c, tx, "SELECT epc FROM asset_tags WHERE asset_id = @i AND to_us IS NULL", ("@i", id)))
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
        {
            while (await r.ReadAsync(cancellationToken))
            {
                epcs.Add(r.GetString(0));
            }
        }

        foreach (var epc in epcs)
        {
            await ReleaseTagAsync(c, tx, epc, id, nowUs, cancellationToken);
        }

        await ExecAsync(c, tx, "DELETE FROM assets WHERE id = @i", cancellationToken, ("@i", id));
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async Task<Asset?> GetAssetAsync(string idOrEpc, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        var found = await QueryAssetsAsync(c, null, "WHERE a.id = @i", 1, cancellationToken, ("@i", idOrEpc));
        if (found.Count == 0 && Epc.TryParseHex(idOrEpc, out var epc))
        {
            found = await QueryAssetsAsync(c, null, "WHERE a.id = (SELECT asset_id FROM asset_tags WHERE epc = @e AND to_us IS NULL)", 1, cancellationToken, ("@e", epc.ToString()));
        }

        return found.Count > 0 ? found[0] : null;
    }

    /// <inheritdoc />
    public async Task<Page<Asset>> ListAssetsAsync(AssetFilter filter, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        var args = new List<(string, object?)>();
        if (cursor is not null)
        {
            where.Add("a.id > @after");
            args.Add(("@after", Cursor.Decode(cursor, 1)[0]));
        }

        if (filter.ZoneId is { } zone)
        {
            where.Add("a.zone_id = @zone");
            args.Add(("@zone", zone));
        }

        if (filter.SiteId is { } site)
        {
            where.Add("z.site_id = @site");
            args.Add(("@site", site));
        }

        if (filter.Type is { } type)
        {
            where.Add("a.type = @type");
            args.Add(("@type", type));
        }

        if (filter.State is { } state)
        {
            where.Add("a.state = @state");
            args.Add(("@state", state));
        }

        if (filter.Unregistered is { } unregistered)
        {
            where.Add(unregistered ? "a.registered = 0" : "a.registered = 1");
        }

        if (!string.IsNullOrWhiteSpace(filter.Query))
        {
            where.Add("(LOWER(a.id) LIKE @q OR LOWER(COALESCE(a.name, '')) LIKE @q OR LOWER(COALESCE(a.owner, '')) LIKE @q OR EXISTS (SELECT 1 FROM asset_tags t WHERE t.asset_id = a.id AND t.to_us IS NULL AND LOWER(t.epc) LIKE @q))");
            args.Add(("@q", "%" + filter.Query.Trim().ToLowerInvariant().Replace("%", string.Empty, StringComparison.Ordinal) + "%"));
        }

        await using var c = await _dialect.OpenAsync(cancellationToken);
        var items = await QueryAssetsAsync(c, null, where.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", where), limit + 1, cancellationToken, [.. args]);
        var more = items.Count > limit;
        var page = more ? items.Take(limit).ToList() : items;
        return new Page<Asset>(page, more ? Cursor.Encode(page[^1].Id) : null);
    }

    private static void RequireId(string? id, string what)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 200 || id.Any(char.IsControl))
        {
            throw new RegistryException($"The {what} '{id}' is invalid: use 1..200 printable characters.");
        }
    }

    private static async Task ReleaseTagAsync(DbConnection c, DbTransaction tx, string epc, string owner, long nowUs, CancellationToken ct)
    {
        await ExecAsync(c, tx, "UPDATE asset_tags SET to_us = @t WHERE epc = @e AND asset_id = @i AND to_us IS NULL", ct, ("@t", nowUs), ("@e", epc), ("@i", owner));
        await ExecAsync(c, tx, "INSERT INTO assets (id, registered, created_us, updated_us) VALUES (@e, 0, @t, @t) ON CONFLICT (id) DO NOTHING", ct, ("@e", epc), ("@t", nowUs));
        await ExecAsync(c, tx, "INSERT INTO asset_tags (epc, asset_id, from_us) VALUES (@e, @e, @t) ON CONFLICT (epc, from_us) DO NOTHING", ct, ("@e", epc), ("@t", nowUs));
        await RefreshLocationAsync(c, tx, epc, ct);
    }

    /// <summary>Sets an asset's current location and last-seen from its tags' newest history and sightings.</summary>
    private static async Task RefreshLocationAsync(DbConnection c, DbTransaction tx, string assetId, CancellationToken ct)
    {
        await ExecAsync(
            c,
            tx,
            "UPDATE assets SET loc_epc = NULL, zone_id = NULL, since_us = NULL, gateway_id = NULL, last_seen_us = (SELECT MAX(g.last_seen_us) FROM tags g JOIN asset_tags t ON t.epc = g.epc WHERE t.asset_id = @i AND t.to_us IS NULL) WHERE id = @i",
            ct,
            ("@i", assetId));
        await ExecAsync(
            c,
            tx,
            "UPDATE assets SET loc_epc = n.epc, zone_id = n.zone_id, since_us = n.from_us, gateway_id = n.gateway_id FROM (SELECT h.epc, h.zone_id, h.from_us, h.gateway_id FROM history h JOIN asset_tags t ON t.epc = h.epc AND t.to_us IS NULL WHERE t.asset_id = @i AND h.to_us IS NULL ORDER BY h.from_us DESC LIMIT 1) AS n WHERE assets.id = @i",
            ct,
            ("@i", assetId));
    }

    private async Task<IReadOnlyList<ZoneCount>> QueryZonesAsync(DbConnection c, string where, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(c, null, $"SELECT z.id, z.site_id, z.name, z.kind, z.parent_id, z.capacity, z.attributes, z.auto_created, (SELECT COUNT(*) FROM assets a WHERE a.zone_id = z.id) FROM zones z {where} ORDER BY z.site_id, z.name", args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var zones = new List<ZoneCount>();
        while (await r.ReadAsync(ct))
        {
            var zone = new Zone(
                Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture),
                r.GetString(1),
                r.GetString(2),
                r.GetString(3),
                NullableLong(r, 4),
                r.IsDBNull(5) ? null : Convert.ToInt32(r.GetValue(5), CultureInfo.InvariantCulture),
                ParseAttributes(r.GetString(6)),
                Convert.ToInt64(r.GetValue(7), CultureInfo.InvariantCulture) != 0);
            _zoneNames[zone.Id] = zone.Name;
            zones.Add(new ZoneCount(zone, Convert.ToInt64(r.GetValue(8), CultureInfo.InvariantCulture)));
        }

        return zones;
    }

    private static async Task<List<Asset>> QueryAssetsAsync(DbConnection c, DbTransaction? tx, string where, int limit, CancellationToken ct, params (string, object?)[] args)
    {
        var rows = new List<(Asset Asset, List<string> Tags)>();
        await using (var cmd = Command(c, tx, $"SELECT {AssetColumns} FROM {AssetFrom} {where} ORDER BY a.id LIMIT {limit.ToString(CultureInfo.InvariantCulture)}", args))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                var tags = new List<string>();
                var location = new AssetLocation(NullableString(r, 7), NullableString(r, 9), NullableLong(r, 8), NullableString(r, 10), NullableLong(r, 11), NullableLong(r, 12), NullableString(r, 13));
                rows.Add((new Asset(
                    r.GetString(0),
                    NullableString(r, 1),
                    NullableString(r, 2),
                    NullableString(r, 3),
                    NullableString(r, 4),
                    ParseAttributes(r.GetString(5)),
                    tags,
                    Convert.ToInt64(r.GetValue(6), CultureInfo.InvariantCulture) != 0,
                    location)
                {
                    Workflow = r.IsDBNull(14) || r.IsDBNull(15) ? null : new AssetWorkflow(r.GetString(14), r.GetString(15), NullableLong(r, 16) ?? 0),
                }, tags));
            }
        }

        if (rows.Count == 0)
        {
            return [];
        }

        // One query for the page's tags, not one per asset.
        var index = rows.ToDictionary(x => x.Asset.Id, x => x.Tags, StringComparer.Ordinal);
        var names = string.Join(", ", rows.Select((_, i) => "@t" + i.ToString(CultureInfo.InvariantCulture)));
        await using (var cmd = Command(c, tx, $"SELECT asset_id, epc FROM asset_tags WHERE to_us IS NULL AND asset_id IN ({names}) ORDER BY asset_id, from_us", [.. rows.Select((x, i) => ("@t" + i.ToString(CultureInfo.InvariantCulture), (object?)x.Asset.Id))]))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                index[r.GetString(0)].Add(r.GetString(1));
            }
        }

        return [.. rows.Select(x => x.Asset)];
    }
}
