namespace EdgeStream.Tracking.Storage;

/// <summary>
/// Where tracking lives: the asset registry, sites and zones, each tag's current location and its
/// location history as intervals, late events and a change feed. One contract, run by one contract test
/// suite against every provider (embedded SQLite, PostgreSQL). Thread-safe.
/// </summary>
/// <remarks>
/// Times are µs since the Unix epoch (UTC). <see cref="ApplyAsync"/> is idempotent: the job re-emits the
/// same outputs after a crash, and applying them again must leave the store as it was. History is kept
/// per tag; an asset's history is its tags' history during the time each tag was the asset's.
/// </remarks>
public interface ITrackingStore : IAsyncDisposable
{
    /// <summary>The provider's name (<c>sqlite</c>, <c>postgres</c>).</summary>
    string Provider { get; }

    /// <summary>Brings the schema to the newest version this build knows; returns it. Safe to run at every start.</summary>
    Task<int> MigrateAsync(CancellationToken cancellationToken);

    /// <summary>The schema version in the database (0 when empty).</summary>
    Task<int> SchemaVersionAsync(CancellationToken cancellationToken);

    /// <summary>Throws when the database cannot be reached.</summary>
    Task PingAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Applies one flush of the tracking job in one transaction: placements (spliced into history by
    /// time, the current location moved when the placement is the tag's newest), sightings (last-seen),
    /// late events. An EPC without an asset becomes an unregistered asset; a zone the store does not
    /// know is created under the gateway's site.
    /// </summary>
    Task ApplyAsync(TrackingBatch batch, CancellationToken cancellationToken);

    /// <summary>Creates or changes a site.</summary>
    Task UpsertSiteAsync(Site site, CancellationToken cancellationToken);

    /// <summary>Every site, by id.</summary>
    Task<IReadOnlyList<Site>> ListSitesAsync(CancellationToken cancellationToken);

    /// <summary>Puts a gateway on a site (its zones are created there).</summary>
    Task AssignGatewayAsync(string gatewayId, string siteId, CancellationToken cancellationToken);

    /// <summary>Creates a zone or changes the one with the same site and name.</summary>
    Task<Zone> UpsertZoneAsync(ZoneInput zone, CancellationToken cancellationToken);

    /// <summary>A zone by id, or by name (<c>name</c> or <c>site/name</c>); null when unknown.</summary>
    Task<Zone?> FindZoneAsync(string idOrName, CancellationToken cancellationToken);

    /// <summary>Zones (of one site, or all) with how many assets are in each now.</summary>
    Task<IReadOnlyList<ZoneCount>> ListZonesAsync(string? siteId, CancellationToken cancellationToken);

    /// <summary>How many assets were in a zone over [from, to): the count at <paramref name="fromUs"/>, then each change.</summary>
    Task<IReadOnlyList<OccupancyStep>> OccupancyAsync(long zoneId, long fromUs, long toUs, CancellationToken cancellationToken);

    /// <summary>Creates or changes an asset (its tags replaced by the input's, effective at <paramref name="nowUs"/>).</summary>
    /// <exception cref="RegistryException">A tag belongs to another registered asset, or the input is invalid.</exception>
    Task<Asset> UpsertAssetAsync(AssetInput input, long nowUs, CancellationToken cancellationToken);

    /// <summary>Removes a registered asset; its tags become unregistered from <paramref name="nowUs"/>. False when unknown.</summary>
    Task<bool> DeleteAssetAsync(string id, long nowUs, CancellationToken cancellationToken);

    /// <summary>An asset by id, or by one of its current tags' EPC; null when unknown.</summary>
    Task<Asset?> GetAssetAsync(string idOrEpc, CancellationToken cancellationToken);

    /// <summary>Assets matching <paramref name="filter"/>, by id, a page at a time.</summary>
    Task<Page<Asset>> ListAssetsAsync(AssetFilter filter, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>An asset's location intervals overlapping [from, to), oldest first, a page at a time.</summary>
    Task<Page<HistoryInterval>> HistoryAsync(string assetId, long fromUs, long toUs, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>Where the asset was at <paramref name="atUs"/>: the interval holding that instant, or null.</summary>
    Task<HistoryInterval?> WhereAtAsync(string assetId, long atUs, CancellationToken cancellationToken);

    /// <summary>Events later than the allowed lateness, newest first, a page at a time.</summary>
    Task<Page<LateRecord>> ListLateAsync(int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>Location changes after <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<ChangeRecord>> ChangesAsync(long afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>The sequence of the newest change-feed entry (0 when none): where a live view that wants only new changes starts.</summary>
    Task<long> LastChangeSequenceAsync(CancellationToken cancellationToken);

    /// <summary>Deletes history intervals that ended before <paramref name="beforeUs"/>, and change-feed entries as old; returns the intervals deleted.</summary>
    Task<long> PurgeHistoryAsync(long beforeUs, CancellationToken cancellationToken);
}
