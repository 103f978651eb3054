using EdgeStream.Tracking.Storage;

namespace EdgeStream.Tracking.Storage.Tests;

/// <summary>
/// What every tracking store must do, run against each provider (SQLite, PostgreSQL) by a subclass that
/// says how to make an empty store.
/// </summary>
public abstract partial class Tracking_store_contract : IAsyncLifetime
{
    private const string Gw = "ward-1";
    private const string Pump = "30340242201D8840009EFD01";
    private const string Chair = "30340242201D8840009EFD02";
    private const long T0 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
    private const long Min = 60_000_000;
    private int _outputs;

    /// <summary>The store under test, migrated.</summary>
    protected ITrackingStore Store { get; private set; } = null!;

    /// <summary>Makes an empty store of the provider.</summary>
    protected abstract Task<ITrackingStore> CreateStoreAsync();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        Assert.Equal(0, await Store.SchemaVersionAsync(default));
        await Store.MigrateAsync(default);
    }

    /// <inheritdoc />
    public async Task DisposeAsync() => await Store.DisposeAsync();

    [Fact]
    public async Task Migrating_again_changes_nothing_and_reports_the_latest_version()
    {
        var v = await Store.SchemaVersionAsync(default);
        Assert.True(v >= 1);
        Assert.Equal(v, await Store.MigrateAsync(default));
        Assert.Equal(v, await Store.SchemaVersionAsync(default));
        await Store.PingAsync(default);
    }

    [Fact]
    public async Task An_epc_nobody_registered_becomes_an_unregistered_asset_in_a_zone_created_under_its_gateways_site()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0)), default);

        var asset = await Store.GetAssetAsync(Pump, default);
        Assert.NotNull(asset);
        Assert.False(asset.Registered);
        Assert.Equal([Pump], asset.Tags);
        Assert.Equal("waiting", asset.Location.Zone);
        Assert.Equal("default", asset.Location.SiteId);
        Assert.Equal(T0, asset.Location.SinceUs);
        Assert.Equal(Gw, asset.Location.GatewayId);

        var zone = await Store.FindZoneAsync("waiting", default);
        Assert.NotNull(zone);
        Assert.True(zone.AutoCreated);
        Assert.Equal("default", zone.SiteId);

        var unregistered = await Store.ListAssetsAsync(new AssetFilter(Unregistered: true), 10, null, default);
        Assert.Equal([Pump], unregistered.Items.Select(a => a.Id));
        Assert.Empty((await Store.ListAssetsAsync(new AssetFilter(Unregistered: false), 10, null, default)).Items);
    }

    [Fact]
    public async Task Placements_in_order_become_intervals_and_where_at_answers_each_instant()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0), Place(Pump, "triage", T0 + (10 * Min)), Place(Pump, "exam-1", T0 + (25 * Min))), default);

        var history = (await Store.HistoryAsync(Pump, long.MinValue, long.MaxValue, 100, null, default)).Items;
        Assert.Equal(["waiting", "triage", "exam-1"], history.Select(h => h.Zone));
        Assert.Equal([T0, T0 + (10 * Min), T0 + (25 * Min)], history.Select(h => h.FromUs));
        Assert.Equal([T0 + (10 * Min), T0 + (25 * Min), (long?)null], history.Select(h => h.ToUs));

        Assert.Null(await Store.WhereAtAsync(Pump, T0 - 1, default));
        Assert.Equal("waiting", (await Store.WhereAtAsync(Pump, T0, default))?.Zone);
        Assert.Equal("waiting", (await Store.WhereAtAsync(Pump, T0 + (10 * Min) - 1, default))?.Zone);
        Assert.Equal("triage", (await Store.WhereAtAsync(Pump, T0 + (10 * Min), default))?.Zone);
        Assert.Equal("exam-1", (await Store.WhereAtAsync(Pump, T0 + (999 * Min), default))?.Zone);
        Assert.Equal("exam-1", (await Store.GetAssetAsync(Pump, default))?.Location.Zone);

        var window = (await Store.HistoryAsync(Pump, T0 + (12 * Min), T0 + (13 * Min), 100, null, default)).Items;
        Assert.Equal(["triage"], window.Select(h => h.Zone));
    }

    [Fact]
    public async Task Applying_the_same_batch_again_leaves_the_store_as_it_was()
    {
        var batch = Batch(Place(Pump, "waiting", T0), Place(Pump, "triage", T0 + Min), Place(Chair, "triage", T0 + (2 * Min)), Depart(Pump, "triage", T0 + (3 * Min)));
        await Store.ApplyAsync(batch, default);
        var history = await AllHistoryAsync(Pump);
        var changes = await Store.ChangesAsync(0, 1000, default);
        var zones = await Store.ListZonesAsync(null, default);

        await Store.ApplyAsync(batch, default);
        await Store.ApplyAsync(Batch(batch.Placements.Skip(1).ToArray()), default);

        Assert.Equal(history, await AllHistoryAsync(Pump));
        Assert.Equal(changes, await Store.ChangesAsync(0, 1000, default));
        Assert.Equal(zones.Select(z => (z.Zone.Name, z.Assets)), (await Store.ListZonesAsync(null, default)).Select(z => (z.Zone.Name, z.Assets)));
    }

    [Fact]
    public async Task A_late_placement_is_spliced_into_history_where_it_belongs_without_moving_the_current_location()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0), Place(Pump, "exam-1", T0 + (30 * Min))), default);
        await Store.ApplyAsync(Batch(Place(Pump, "triage", T0 + (10 * Min), late: true)), default);

        var history = await AllHistoryAsync(Pump);
        Assert.Equal(["waiting", "triage", "exam-1"], history.Select(h => h.Zone));
        Assert.Equal([T0 + (10 * Min), T0 + (30 * Min), (long?)null], history.Select(h => h.ToUs));
        Assert.True(history[1].Late);
        Assert.Equal("exam-1", (await Store.GetAssetAsync(Pump, default))?.Location.Zone);

        // Older than anything known: a first interval that ends where the known history starts.
        await Store.ApplyAsync(Batch(Place(Pump, "entrance", T0 - (5 * Min), late: true)), default);
        history = await AllHistoryAsync(Pump);
        Assert.Equal(["entrance", "waiting", "triage", "exam-1"], history.Select(h => h.Zone));
        Assert.Equal(T0, history[0].ToUs);

        // A late event newer than the current placement does move the asset.
        await Store.ApplyAsync(Batch(Place(Pump, "recovery", T0 + (40 * Min), late: true)), default);
        Assert.Equal("recovery", (await Store.GetAssetAsync(Pump, default))?.Location.Zone);
    }

    [Fact]
    public async Task A_departure_counts_only_from_the_zone_the_tag_was_in()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0), Place(Pump, "triage", T0 + Min)), default);
        await Store.ApplyAsync(Batch(Depart(Pump, "waiting", T0 + (2 * Min))), default);
        Assert.Equal("triage", (await Store.GetAssetAsync(Pump, default))?.Location.Zone);

        await Store.ApplyAsync(Batch(Depart(Pump, "triage", T0 + (3 * Min))), default);
        var asset = await Store.GetAssetAsync(Pump, default);
        Assert.Null(asset?.Location.Zone);
        Assert.Equal(T0 + (3 * Min), asset?.Location.SinceUs);
        var history = await AllHistoryAsync(Pump);
        Assert.Equal(["waiting", "triage"], history.Select(h => h.Zone));
        Assert.Equal(T0 + (3 * Min), history[^1].ToUs);
        Assert.Null(await Store.WhereAtAsync(Pump, T0 + (4 * Min), default));
    }

    [Fact]
    public async Task Registering_a_seen_epc_adopts_its_history_and_retagging_splits_it_at_the_moment_of_the_change()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0), Place(Pump, "triage", T0 + (10 * Min))), default);
        var pump = await Store.UpsertAssetAsync(new AssetInput("pump-7", "Infusion pump 7", "infusion-pump", "ICU", "store-room", new Dictionary<string, string> { ["serial"] = "IP-7731" }, [Pump.ToLowerInvariant()]), T0 + (20 * Min), default);
        Assert.True(pump.Registered);
        Assert.Equal([Pump], pump.Tags);
        Assert.Equal("triage", pump.Location.Zone);
        Assert.Equal("IP-7731", pump.Attributes["serial"]);
        Assert.Null(await Store.GetAssetAsync(Pump.Replace("01", "0X", StringComparison.Ordinal), default));
        Assert.Equal("pump-7", (await Store.GetAssetAsync(Pump, default))?.Id);
        Assert.Equal(["waiting", "triage"], (await AllHistoryAsync("pump-7")).Select(h => h.Zone));

        // The tag moves to another pump at T0+30 min; what it saw afterwards is that pump's.
        await Store.UpsertAssetAsync(new AssetInput("pump-7", "Infusion pump 7", "infusion-pump", "ICU", null, null, []), T0 + (30 * Min), default);
        await Store.UpsertAssetAsync(new AssetInput("pump-8", "Infusion pump 8", "infusion-pump", "ICU", null, null, [Pump]), T0 + (31 * Min), default);
        await Store.ApplyAsync(Batch(Place(Pump, "exam-2", T0 + (40 * Min))), default);

        var seven = await AllHistoryAsync("pump-7");
        Assert.Equal(["waiting", "triage"], seven.Select(h => h.Zone));
        Assert.Equal(T0 + (30 * Min), seven[^1].ToUs);
        var eight = await AllHistoryAsync("pump-8");
        Assert.Equal(["triage", "exam-2"], eight.Select(h => h.Zone));
        Assert.Equal(T0 + (31 * Min), eight[0].FromUs);
        Assert.Equal("exam-2", (await Store.GetAssetAsync("pump-8", default))?.Location.Zone);
        Assert.Null((await Store.GetAssetAsync("pump-7", default))?.Location.Zone);
    }

    [Fact]
    public async Task A_tag_of_another_registered_asset_or_a_bad_epc_is_refused_and_changes_nothing()
    {
        await Store.UpsertAssetAsync(new AssetInput("chair-1", "Wheelchair 1", "wheelchair", null, null, null, [Chair]), T0, default);
        var taken = await Assert.ThrowsAsync<RegistryException>(() => Store.UpsertAssetAsync(new AssetInput("chair-2", null, "wheelchair", null, null, null, [Chair]), T0, default));
        Assert.Contains("chair-1", taken.Message, StringComparison.Ordinal);
        Assert.Null(await Store.GetAssetAsync("chair-2", default));

        var bad = await Assert.ThrowsAsync<RegistryException>(() => Store.UpsertAssetAsync(new AssetInput("chair-3", null, null, null, null, null, ["XYZ"]), T0, default));
        Assert.Contains("XYZ", bad.Message, StringComparison.Ordinal);
        Assert.Null(await Store.GetAssetAsync("chair-3", default));
    }

    [Fact]
    public async Task Deleting_an_asset_leaves_its_tags_unregistered_and_still_tracked()
    {
        await Store.UpsertAssetAsync(new AssetInput("chair-1", "Wheelchair 1", "wheelchair", null, null, null, [Chair]), T0, default);
        Assert.True(await Store.DeleteAssetAsync("chair-1", T0 + Min, default));
        Assert.False(await Store.DeleteAssetAsync("chair-1", T0 + Min, default));
        Assert.Null(await Store.GetAssetAsync("chair-1", default));

        await Store.ApplyAsync(Batch(Place(Chair, "triage", T0 + (2 * Min))), default);
        var orphan = await Store.GetAssetAsync(Chair, default);
        Assert.False(orphan?.Registered);
        Assert.Equal("triage", orphan?.Location.Zone);
    }

    [Fact]
    public async Task The_asset_list_pages_through_every_asset_once_and_filters_by_zone_type_site_and_text()
    {
        var placements = new List<PlacementRecord>();
        for (var i = 0; i < 25; i++)
        {
            placements.Add(Place($"3034{i:X20}", i % 2 == 0 ? "waiting" : "triage", T0 + i));
        }

        await Store.ApplyAsync(Batch([.. placements]), default);
        await Store.UpsertAssetAsync(new AssetInput("patient-ana", "Ana Ruiz", "patient", "ward 3", null, null, [placements[0].Epc]), T0 + Min, default);

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Store.ListAssetsAsync(new AssetFilter(), 7, cursor, default);
            Assert.True(page.Items.Count <= 7);
            seen.AddRange(page.Items.Select(a => a.Id));
            cursor = page.Next;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(4, pages);
        Assert.Equal(25, seen.Count);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(25, seen.Distinct().Count());

        var waiting = await Store.FindZoneAsync("waiting", default);
        Assert.Equal(13, (await Store.ListAssetsAsync(new AssetFilter(ZoneId: waiting!.Id), 100, null, default)).Items.Count);
        Assert.Equal(["patient-ana"], (await Store.ListAssetsAsync(new AssetFilter(Type: "patient"), 100, null, default)).Items.Select(a => a.Id));
        Assert.Equal(["patient-ana"], (await Store.ListAssetsAsync(new AssetFilter(Query: "ana r"), 100, null, default)).Items.Select(a => a.Id));
        Assert.Equal(25, (await Store.ListAssetsAsync(new AssetFilter(SiteId: "default"), 100, null, default)).Items.Count);
        Assert.Empty((await Store.ListAssetsAsync(new AssetFilter(SiteId: "elsewhere"), 100, null, default)).Items);
        Assert.Throws<ArgumentException>(() => Store.ListAssetsAsync(new AssetFilter(), 10, "not-a-cursor", default).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task Zones_count_the_assets_in_them_now_and_occupancy_follows_every_arrival_and_departure()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "triage", T0), Place(Chair, "triage", T0 + Min), Place(Pump, "exam-1", T0 + (5 * Min)), Depart(Chair, "triage", T0 + (9 * Min))), default);

        var zones = (await Store.ListZonesAsync(null, default)).ToDictionary(z => z.Zone.Name, z => z.Assets);
        Assert.Equal(0, zones["triage"]);
        Assert.Equal(1, zones["exam-1"]);

        var triage = await Store.FindZoneAsync("default/triage", default);
        var steps = await Store.OccupancyAsync(triage!.Id, T0 - Min, T0 + (10 * Min), default);
        Assert.Equal([(T0 - Min, 0L), (T0, 1L), (T0 + Min, 2L), (T0 + (5 * Min), 1L), (T0 + (9 * Min), 0L)], steps.Select(s => (s.FromUs, s.Assets)));
    }

    [Fact]
    public async Task A_gateway_put_on_a_site_creates_its_new_zones_there()
    {
        await Store.UpsertSiteAsync(new Site("st-marys", "St Mary's", TimeZone: "Europe/London"), default);
        await Store.AssignGatewayAsync(Gw, "st-marys", default);
        await Assert.ThrowsAsync<RegistryException>(() => Store.AssignGatewayAsync("gw-x", "nowhere", default));
        await Store.ApplyAsync(Batch(Place(Pump, "theatre-2", T0)), default);

        var zone = await Store.FindZoneAsync("st-marys/theatre-2", default);
        Assert.NotNull(zone);
        Assert.Equal("st-marys", (await Store.GetAssetAsync(Pump, default))?.Location.SiteId);
        Assert.Contains(await Store.ListSitesAsync(default), s => s.Id == "st-marys" && s.TimeZone == "Europe/London");

        var edited = await Store.UpsertZoneAsync(new ZoneInput("st-marys", "theatre-2", "room", null, 4, new Dictionary<string, string> { ["floor"] = "2" }), default);
        Assert.Equal(zone.Id, edited.Id);
        Assert.Equal(4, edited.Capacity);
        Assert.False(edited.AutoCreated);
        await Assert.ThrowsAsync<RegistryException>(() => Store.UpsertZoneAsync(new ZoneInput("nowhere", "x"), default));
    }

    [Fact]
    public async Task Late_events_are_kept_once_each_and_listed_newest_first()
    {
        var late = Enumerable.Range(0, 5).Select(i => new LateRecord(3, 100 + i, Pump, Gw, "arrive", "triage", T0 + i, T0 + Min, "late by 60 s", $"{Gw}/9/{i}")).ToArray();
        await Store.ApplyAsync(new TrackingBatch([], [], late), default);
        await Store.ApplyAsync(new TrackingBatch([], [], late[..2]), default);

        var first = await Store.ListLateAsync(3, null, default);
        Assert.Equal([104L, 103L, 102L], first.Items.Select(l => l.Offset));
        var second = await Store.ListLateAsync(3, first.Next, default);
        Assert.Equal([101L, 100L], second.Items.Select(l => l.Offset));
        Assert.Null(second.Next);
    }

    [Fact]
    public async Task The_change_feed_lists_each_location_change_in_order_and_resumes_after_a_sequence()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0), Place(Pump, "triage", T0 + Min)), default);
        var all = await Store.ChangesAsync(0, 100, default);
        Assert.Equal(["waiting", "triage"], all.Select(c => c.Zone));
        await Store.ApplyAsync(Batch(Place(Chair, "exam-1", T0 + (2 * Min))), default);
        var after = await Store.ChangesAsync(all[^1].Sequence, 100, default);
        Assert.Equal([(Chair, "exam-1")], after.Select(c => (c.AssetId, c.Zone)));
    }

    [Fact]
    public async Task Sightings_move_last_seen_forward_only()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0)), default);
        await Store.ApplyAsync(new TrackingBatch([], [new SightingRecord(Pump, T0 + (5 * Min), Gw)], []), default);
        await Store.ApplyAsync(new TrackingBatch([], [new SightingRecord(Pump, T0 + Min, Gw)], []), default);
        Assert.Equal(T0 + (5 * Min), (await Store.GetAssetAsync(Pump, default))?.Location.LastSeenUs);

        // A tag seen only by raw reads is still an unregistered asset.
        await Store.ApplyAsync(new TrackingBatch([], [new SightingRecord(Chair, T0, Gw)], []), default);
        var chair = await Store.GetAssetAsync(Chair, default);
        Assert.Equal(T0, chair?.Location.LastSeenUs);
        Assert.Null(chair?.Location.Zone);
    }

    [Fact]
    public async Task Purging_deletes_only_intervals_that_ended_before_the_cut()
    {
        await Store.ApplyAsync(Batch(Place(Pump, "waiting", T0), Place(Pump, "triage", T0 + (40L * 24 * 60 * Min)), Place(Pump, "exam-1", T0 + (80L * 24 * 60 * Min))), default);
        var purged = await Store.PurgeHistoryAsync(T0 + (50L * 24 * 60 * Min), default);
        Assert.Equal(1, purged);
        Assert.Equal(["triage", "exam-1"], (await AllHistoryAsync(Pump)).Select(h => h.Zone));
        Assert.Equal(0, await Store.PurgeHistoryAsync(T0 + (50L * 24 * 60 * Min), default));
    }

    [Fact]
    public async Task Large_batches_leave_the_same_store_as_one_placement_at_a_time()
    {
        // A provider may write large batches set-based (PostgreSQL does); whatever it does, the outcome
        // must be the one the one-by-one path gives. Random walks of 40 tags: moves, departures (from the
        // right zone and the wrong one), repeats, late events spliced into the past, replays of whole
        // batches, and one registered asset with two tags that move in the same batches.
        await using var reference = await CreateStoreAsync();
        await reference.MigrateAsync(default);
        var tags = Enumerable.Range(0, 40).Select(i => $"30340242201D8840009E{i:X4}").ToArray();
        string[] zones = ["waiting", "triage", "exam-1", "exam-2", "recovery"];
        foreach (var s in new[] { Store, reference })
        {
            await s.UpsertAssetAsync(new AssetInput("bed-1", "Bed 1", "bed", null, null, null, [tags[0], tags[1]]), T0 - Min, default);
        }

        var rng = new Random(11);
        var clock = new long[tags.Length];
        var batches = new List<PlacementRecord[]>();
        for (var b = 0; b < 30; b++)
        {
            var batch = new List<PlacementRecord>();
            for (var n = rng.Next(4, 40); n > 0; n--)
            {
                var i = rng.Next(tags.Length);
                clock[i] += rng.Next(1, 5) * Min;
                var t = rng.Next(8) == 0 ? T0 + (rng.Next((int)(clock[i] / Min) + 1) * Min) + 7 : T0 + clock[i];
                var zone = zones[rng.Next(zones.Length)];
                batch.Add(rng.Next(5) == 0 ? Depart(tags[i], zone, t) : Place(tags[i], zone, t, late: t < T0 + clock[i]));
            }

            batches.Add([.. batch]);
            if (rng.Next(6) == 0)
            {
                batches.Add(batches[rng.Next(batches.Count)]);
            }
        }

        foreach (var batch in batches)
        {
            await Store.ApplyAsync(new TrackingBatch(batch, [], []), default);
            foreach (var p in batch)
            {
                await reference.ApplyAsync(new TrackingBatch([p], [], []), default);
            }
        }

        foreach (var tag in tags)
        {
            var got = (await Store.HistoryAsync(tag, long.MinValue, long.MaxValue, 1000, null, default)).Items;
            var want = (await reference.HistoryAsync(tag, long.MinValue, long.MaxValue, 1000, null, default)).Items;
            Assert.Equal(want.Select(h => (h.AssetId, h.Zone, h.FromUs, h.ToUs, h.OpenEvent, h.CloseEvent, h.Late)), got.Select(h => (h.AssetId, h.Zone, h.FromUs, h.ToUs, h.OpenEvent, h.CloseEvent, h.Late)));
            var a = await Store.GetAssetAsync(tag, default);
            var r = await reference.GetAssetAsync(tag, default);
            Assert.Equal((r!.Id, r.Location.Zone, r.Location.SinceUs, r.Location.GatewayId), (a!.Id, a.Location.Zone, a.Location.SinceUs, a.Location.GatewayId));
        }

        var changes = await Store.ChangesAsync(0, 10_000, default);
        var referenceChanges = await reference.ChangesAsync(0, 10_000, default);
        Assert.Equal(
            referenceChanges.Select(c => (c.AssetId, c.Epc, c.Zone, c.AtUs)).Order(),
            changes.Select(c => (c.AssetId, c.Epc, c.Zone, c.AtUs)).Order());
    }

    private static TrackingBatch Batch(params PlacementRecord[] placements) => new(placements, [], []);

    private PlacementRecord Place(string epc, string zone, long t, bool late = false) =>
        new(epc, zone, null, t, Gw, $"{Gw}/{t}/0", late, $"o-{Interlocked.Increment(ref _outputs)}");

    private PlacementRecord Depart(string epc, string zone, long t) =>
        new(epc, null, zone, t, Gw, $"{Gw}/{t}/1", false, $"o-{Interlocked.Increment(ref _outputs)}");

    private async Task<IReadOnlyList<HistoryInterval>> AllHistoryAsync(string asset) =>
        (await Store.HistoryAsync(asset, long.MinValue, long.MaxValue, 1000, null, default)).Items;
}

/// <summary>The contract on the embedded SQLite store.</summary>
[Trait("Capability", "Tracking")]
public sealed class SqliteTrackingStoreTests : Tracking_store_contract, IDisposable
{
    private readonly TempDirectory _dir = new();

    /// <inheritdoc />
    public void Dispose() => _dir.Dispose();

    /// <inheritdoc />
    protected override Task<ITrackingStore> CreateStoreAsync() =>
        Task.FromResult<ITrackingStore>(EdgeStream.Tracking.Storage.Sqlite.SqliteTrackingStore.Open(Path.Combine(_dir.Path, $"tracking-{Guid.NewGuid():N}.db")));
}

/// <summary>The contract on PostgreSQL, on a private cluster the fixture starts.</summary>
[Trait("Capability", "Tracking")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresTrackingStoreTests(PostgresServer server) : Tracking_store_contract
{
    /// <inheritdoc />
    protected override async Task<ITrackingStore> CreateStoreAsync() =>
        EdgeStream.Tracking.Storage.Postgres.PostgresTrackingStore.Open(await server.CreateDatabaseAsync());
}
