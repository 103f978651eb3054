using System.Globalization;
using System.Text.Json;
using EdgeStream.Gateways;
using EdgeStream.Cloud.Tracking;
using EdgeStream.Contracts;
using EdgeStream.Tracking;
using EdgeStream.Tracking.Registry;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Cloud.Http;

/// <summary>An asset as the API shows it: registry fields and where it is now.</summary>
public sealed record AssetItem(
    string Id,
    string? Epc,
    IReadOnlyList<string> Tags,
    string? Name,
    string? Type,
    string? Owner,
    string? HomeZone,
    IReadOnlyDictionary<string, string> Attributes,
    bool Registered,
    string? Zone,
    long? ZoneId,
    string? Site,
    DateTime? Since,
    DateTime? LastSeen,
    string? Gateway,
    string? Workflow,
    string? State,
    DateTime? StateSince)
{
    /// <summary>The same gateway under the name the first API used.</summary>
    public string? GatewayId => Gateway;

    /// <summary>Builds the item of an asset.</summary>
    public static AssetItem From(Asset a) => new(
        a.Id,
        a.Location.Epc ?? a.Tags.FirstOrDefault(),
        a.Tags,
        a.Name,
        a.Type,
        a.Owner,
        a.HomeZone,
        a.Attributes,
        a.Registered,
        a.Location.Zone,
        a.Location.ZoneId,
        a.Location.SiteId,
        TrackingApi.Time(a.Location.SinceUs),
        TrackingApi.Time(a.Location.LastSeenUs),
        a.Location.GatewayId,
        a.Workflow?.WorkflowId,
        a.Workflow?.State,
        TrackingApi.Time(a.Workflow?.SinceUs));
}

/// <summary>
/// The tracking API: assets (list with filters and cursors, one, history, "where was it at T", create,
/// change, delete, CSV import and export), sites, zones (with counts, their assets, occupancy), late
/// events, the change feed (server-sent events, resumable) and readiness. Errors are RFC 7807 problem details.
/// </summary>
public static class TrackingApi
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    /// <summary>Maps the endpoints.</summary>
    public static void MapTrackingApi(this WebApplication app)
    {
        app.MapGet("/api/assets", ListAssetsAsync);
        app.MapGet("/api/assets/export.csv", ExportAsync);
        app.MapPost("/api/assets/import", ImportAsync);
        app.MapPost("/api/assets", (HttpRequest request, ITrackingStore store, DefinitionDirectory workflows, CancellationToken ct) => SaveAssetAsync(null, request, store, workflows, ct));
        app.MapPut("/api/assets/{id}", (string id, HttpRequest request, ITrackingStore store, DefinitionDirectory workflows, CancellationToken ct) => SaveAssetAsync(id, request, store, workflows, ct));
        app.MapDelete("/api/assets/{id}", async (string id, ITrackingStore store, CancellationToken ct) =>
            await store.DeleteAssetAsync(id, EventTimes.NowUs(), ct) ? Results.NoContent() : NotFound("asset", id));
        app.MapGet("/api/assets/stream", StreamPortalAsync);
        app.MapGet("/api/assets/{id}", async (string id, ITrackingStore store, CancellationToken ct) =>
            await store.GetAssetAsync(id, ct) is { } a ? Results.Json(AssetItem.From(a), CloudApi.Json) : NotFound("asset", id));
        app.MapGet("/api/assets/{id}/history", HistoryAsync);
        app.MapGet("/api/assets/{id}/at", WhereAtAsync);
        app.MapGet("/api/sites", async (ITrackingStore store, CancellationToken ct) => Results.Json(await store.ListSitesAsync(ct), CloudApi.Json));
        app.MapPut("/api/sites/{id}", PutSiteAsync);
        app.MapPut("/api/gateways/{id}/site", PutGatewaySiteAsync);
        app.MapGet("/api/zones", async (string? site, ITrackingStore store, CancellationToken ct) =>
            Results.Json(new { items = (await store.ListZonesAsync(site, ct)).Select(ZoneItem), next = (string?)null }, CloudApi.Json));
        app.MapPost("/api/zones", PostZoneAsync);
        app.MapGet("/api/zones/{id}", async (string id, ITrackingStore store, CancellationToken ct) =>
            await store.FindZoneAsync(id, ct) is { } z ? Results.Json(z, CloudApi.Json) : NotFound("zone", id));
        app.MapGet("/api/zones/{id}/assets", ZoneAssetsAsync);
        app.MapGet("/api/zones/{id}/occupancy", OccupancyAsync);
        app.MapGet("/api/late", LateAsync);
        app.MapGet("/api/changes", ChangesAsync);
    }

    /// <summary>µs since the epoch as a UTC time, or null.</summary>
    public static DateTime? Time(long? us) => us is { } v and > long.MinValue ? EventTimes.FromUnixMicroseconds(v).UtcDateTime : null;

    /// <summary>An RFC 7807 answer for an unknown resource.</summary>
    internal static IResult NotFound(string what, string id) =>
        Results.Problem(title: "Not found", detail: $"No {what} '{id}'.", statusCode: StatusCodes.Status404NotFound);

    /// <summary>The page size asked for (1..1000, 100 by default), or a 400 answer.</summary>
    internal static bool TryLimit(int? limit, out int value, out IResult? error)
    {
        value = limit ?? DefaultLimit;
        error = value is < 1 or > MaxLimit ? BadRequest($"limit must be 1..{MaxLimit}.") : null;
        return error is null;
    }

    /// <summary>An RFC 7807 answer for a bad request, naming the parameter.</summary>
    public static IResult BadRequest(string detail) => Results.Problem(title: "Bad request", detail: detail, statusCode: StatusCodes.Status400BadRequest);

    private static object ZoneItem(ZoneCount z) => new
    {
        z.Zone.Id,
        site = z.Zone.SiteId,
        z.Zone.Name,
        z.Zone.Kind,
        z.Zone.ParentId,
        z.Zone.Capacity,
        z.Zone.Attributes,
        z.Zone.AutoCreated,
        assets = z.Assets,
    };

    /// <summary>An ISO-8601 time parameter as µs since the epoch (<paramref name="fallback"/> when absent), or a 400 answer.</summary>
    internal static bool TryTime(string? text, string name, long fallback, out long us, out IResult? error)
    {
        error = null;
        us = fallback;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (TryParseTime(text, out us))
        {
            return true;
        }

        error = BadRequest($"{name} '{text}' is not a time: use ISO-8601, e.g. 2026-12-05T14:05:00Z.");
        return false;
    }

    /// <summary>An ISO-8601 time (UTC when it names no offset) as µs since the epoch.</summary>
    internal static bool TryParseTime(string? text, out long us)
    {
        var ok = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t);
        us = ok ? EventTimes.ToUnixMicroseconds(t) : 0;
        return ok;
    }

    private static async Task<IResult> ListAssetsAsync(string? zone, string? site, string? type, string? q, bool? unregistered, string? state, int? limit, string? cursor, ITrackingStore store, CancellationToken ct)
    {
        if (!TryLimit(limit, out var n, out var error))
        {
            return error!;
        }

        long? zoneId = null;
        if (zone is not null)
        {
            if (await store.FindZoneAsync(zone, ct) is not { } z)
            {
                return Results.Json(new { items = Array.Empty<AssetItem>(), next = (string?)null }, CloudApi.Json);
            }

            zoneId = z.Id;
        }

        try
        {
            var page = await store.ListAssetsAsync(new AssetFilter(zoneId, site, type, q, unregistered, state), n, cursor, ct);
            return Results.Json(new { items = page.Items.Select(AssetItem.From), next = page.Next }, CloudApi.Json);
        }
        catch (ArgumentException ex)
        {
            return BadRequest(ex.Message);
        }
    }

    private static async Task<IResult> SaveAssetAsync(string? id, HttpRequest request, ITrackingStore store, DefinitionDirectory workflows, CancellationToken ct)
    {
        AssetBody? body;
        try
        {
            body = await request.ReadFromJsonAsync<AssetBody>(CloudApi.Json, ct);
        }
        catch (JsonException ex)
        {
            return BadRequest("the body is not a JSON asset: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return BadRequest(ex.Message);
        }

        if (body is null)
        {
            return BadRequest("the body is empty: expected {\"name\":…,\"type\":…,\"tags\":[EPC…]}.");
        }

        if (id is not null && body.Id is not null && body.Id != id)
        {
            return BadRequest($"the body's id '{body.Id}' differs from the path's '{id}'.");
        }

        try
        {
            var existed = id is not null && await store.GetAssetAsync(id, ct) is { Registered: true };
            var saved = await store.UpsertAssetAsync(new AssetInput(id ?? body.Id, body.Name, body.Type, body.Owner, body.HomeZone, body.Attributes, body.Tags ?? []), EventTimes.NowUs(), ct);
            workflows.AssetSaved(saved);
            var item = AssetItem.From(saved);
            return existed ? Results.Json(item, CloudApi.Json) : Results.Json(item, CloudApi.Json, statusCode: StatusCodes.Status201Created);
        }
        catch (RegistryException ex)
        {
            return Results.Problem(title: "The registry refused the asset", detail: ex.Message, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
    }

    private static async Task<IResult> ImportAsync(HttpRequest request, ITrackingStore store, CancellationToken ct)
    {
        if (request.ContentType is not { } type || !type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase))
        {
            return Results.Problem(title: "Unsupported media type", detail: "POST the file as text/csv.", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }

        using var reader = new StreamReader(request.Body);
        var result = await AssetCsv.ImportAsync(reader, store, EventTimes.NowUs(), ct);
        return Results.Json(new { accepted = result.Accepted, rejected = result.Rejected.Select(r => new { line = r.Line, reason = r.Reason }) }, CloudApi.Json);
    }

    private static async Task ExportAsync(HttpContext context, ITrackingStore store)
    {
        context.Response.ContentType = "text/csv; charset=utf-8";
        context.Response.Headers.ContentDisposition = "attachment; filename=assets.csv";
        await using var writer = new StreamWriter(context.Response.Body);
        await AssetCsv.ExportAsync(store, writer, context.RequestAborted);
    }

    private static async Task<IResult> HistoryAsync(string id, string? from, string? to, int? limit, string? cursor, ITrackingStore store, CancellationToken ct)
    {
        if (!TryLimit(limit, out var n, out var error) || !TryTime(from, "from", long.MinValue, out var f, out error) || !TryTime(to, "to", long.MaxValue, out var t, out error))
        {
            return error!;
        }

        if (await store.GetAssetAsync(id, ct) is not { } asset)
        {
            return NotFound("asset", id);
        }

        try
        {
            var page = await store.HistoryAsync(asset.Id, f, t, n, cursor, ct);
            return Results.Json(new { items = page.Items.Select(HistoryItem), next = page.Next }, CloudApi.Json);
        }
        catch (ArgumentException ex)
        {
            return BadRequest(ex.Message);
        }
    }

    private static object HistoryItem(HistoryInterval h) => new
    {
        asset = h.AssetId,
        h.Epc,
        h.Zone,
        h.ZoneId,
        from = Time(h.FromUs),
        to = Time(h.ToUs),
        gateway = h.GatewayId,
        openEvent = h.OpenEvent,
        closeEvent = h.CloseEvent,
        h.Late,
        manual = h.Manual is { } m ? new { type = m.Kind, by = m.By, reason = m.Reason } : null,
    };

    private static async Task<IResult> WhereAtAsync(string id, string? time, ITrackingStore store, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(time))
        {
            return BadRequest("time is required, e.g. ?time=2026-12-05T14:05:00Z.");
        }

        if (!TryTime(time, "time", 0, out var at, out var error))
        {
            return error!;
        }

        if (await store.GetAssetAsync(id, ct) is not { } asset)
        {
            return NotFound("asset", id);
        }

        var h = await store.WhereAtAsync(asset.Id, at, ct);
        return Results.Json(new { asset = asset.Id, time = Time(at), zone = h?.Zone, interval = h is null ? null : HistoryItem(h) }, CloudApi.Json);
    }

    private static async Task<IResult> PutSiteAsync(string id, HttpRequest request, ITrackingStore store, CancellationToken ct)
    {
        SiteBody? body;
        try
        {
            body = await request.ReadFromJsonAsync<SiteBody>(CloudApi.Json, ct);
        }
        catch (JsonException ex)
        {
            return BadRequest("the body is not a JSON site: " + ex.Message);
        }

        if (body?.TimeZone is { } zone && !TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
        {
            return Results.Problem(title: "The registry refused the site", detail: $"timeZone: '{zone}' is not a time zone this system knows; use an IANA name such as \"Europe/London\".", statusCode: StatusCodes.Status422UnprocessableEntity);
        }

        try
        {
            await store.UpsertSiteAsync(new Site(id, body?.Name ?? id, body?.Parent, body?.TimeZone, body?.Attributes), ct);
            return Results.Json(new { id }, CloudApi.Json);
        }
        catch (RegistryException ex)
        {
            return Results.Problem(title: "The registry refused the site", detail: ex.Message, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
    }

    private static async Task<IResult> PutGatewaySiteAsync(string id, HttpRequest request, ITrackingStore store, CancellationToken ct)
    {
        GatewaySiteBody? body;
        try
        {
            body = await request.ReadFromJsonAsync<GatewaySiteBody>(CloudApi.Json, ct);
        }
        catch (JsonException ex)
        {
            return BadRequest("the body is not {\"site\":…}: " + ex.Message);
        }

        if (string.IsNullOrWhiteSpace(body?.Site))
        {
            return BadRequest("site is required: {\"site\":\"st-marys\"}.");
        }

        try
        {
            await store.AssignGatewayAsync(id, body.Site, ct);
            return Results.Json(new { gatewayId = id, site = body.Site }, CloudApi.Json);
        }
        catch (RegistryException ex)
        {
            return Results.Problem(title: "The registry refused the gateway's site", detail: ex.Message, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
    }

    private static async Task<IResult> PostZoneAsync(HttpRequest request, ITrackingStore store, DefinitionDirectory workflows, CancellationToken ct)
    {
        ZoneInput? body;
        try
        {
            body = await request.ReadFromJsonAsync<ZoneInput>(CloudApi.Json, ct);
        }
        catch (JsonException ex)
        {
            return BadRequest("the body is not a JSON zone: " + ex.Message);
        }

        if (body is null || string.IsNullOrWhiteSpace(body.SiteId) || string.IsNullOrWhiteSpace(body.Name))
        {
            return BadRequest("siteId and name are required.");
        }

        try
        {
            var saved = await store.UpsertZoneAsync(body, ct);
            workflows.ZoneSaved(saved);
            return Results.Json(saved, CloudApi.Json);
        }
        catch (RegistryException ex)
        {
            return Results.Problem(title: "The registry refused the zone", detail: ex.Message, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
    }

    private static async Task<IResult> ZoneAssetsAsync(string id, int? limit, string? cursor, ITrackingStore store, CancellationToken ct)
    {
        if (!TryLimit(limit, out var n, out var error))
        {
            return error!;
        }

        if (await store.FindZoneAsync(id, ct) is not { } zone)
        {
            return NotFound("zone", id);
        }

        try
        {
            var page = await store.ListAssetsAsync(new AssetFilter(ZoneId: zone.Id), n, cursor, ct);
            return Results.Json(new { items = page.Items.Select(AssetItem.From), next = page.Next }, CloudApi.Json);
        }
        catch (ArgumentException ex)
        {
            return BadRequest(ex.Message);
        }
    }

    private static async Task<IResult> OccupancyAsync(string id, string? from, string? to, ITrackingStore store, CancellationToken ct)
    {
        var now = EventTimes.NowUs();
        if (!TryTime(from, "from", now - 86_400_000_000, out var f, out var error) || !TryTime(to, "to", now, out var t, out error))
        {
            return error!;
        }

        if (t <= f)
        {
            return BadRequest("to must be after from.");
        }

        if (await store.FindZoneAsync(id, ct) is not { } zone)
        {
            return NotFound("zone", id);
        }

        var steps = await store.OccupancyAsync(zone.Id, f, t, ct);
        return Results.Json(new { zone = zone.Id, zone.Name, zone.Capacity, from = Time(f), to = Time(t), steps = steps.Select(s => new { from = Time(s.FromUs), assets = s.Assets }) }, CloudApi.Json);
    }

    private static async Task<IResult> LateAsync(int? limit, string? cursor, ITrackingStore store, CancellationToken ct)
    {
        if (!TryLimit(limit, out var n, out var error))
        {
            return error!;
        }

        try
        {
            var page = await store.ListLateAsync(n, cursor, ct);
            return Results.Json(new
            {
                items = page.Items.Select(l => new { l.Partition, l.Offset, l.Epc, gateway = l.GatewayId, l.Kind, l.Zone, eventTime = Time(l.EventTimeUs), watermark = Time(l.WatermarkUs), l.Detail, eventId = l.EventId }),
                next = page.Next,
            }, CloudApi.Json);
        }
        catch (ArgumentException ex)
        {
            return BadRequest(ex.Message);
        }
    }

    /// <summary>
    /// The change feed: server-sent events <c>change</c>, each with its sequence as the event id, from the
    /// <c>cursor</c> query parameter or the <c>Last-Event-ID</c> header on, so a client that reconnects
    /// resumes where it stopped. A <c>: keep-alive</c> comment every 15 s.
    /// </summary>
    private static async Task ChangesAsync(HttpContext context, ITrackingStore store, CommitSignal committed, string? cursor)
    {
        var ct = context.RequestAborted;
        var resume = cursor ?? context.Request.Headers["Last-Event-ID"].FirstOrDefault();
        long after = 0;
        if (resume is not null && !long.TryParse(resume, NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            await BadRequest($"cursor '{resume}' is not a change sequence.").ExecuteAsync(context);
            return;
        }

        StartEvents(context);
        var keepAlive = DateTime.UtcNow;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var next = committed.Next;
                var changes = await store.ChangesAsync(after, 500, ct);
                foreach (var c in changes)
                {
                    after = c.Sequence;
                    await context.Response.WriteAsync($"id: {c.Sequence.ToString(CultureInfo.InvariantCulture)}\nevent: change\ndata: {JsonSerializer.Serialize(new { sequence = c.Sequence, asset = c.AssetId, c.Epc, c.Zone, c.ZoneId, at = Time(c.AtUs) }, CloudApi.Json)}\n\n", ct);
                }

                if (DateTime.UtcNow - keepAlive > TimeSpan.FromSeconds(15))
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", ct);
                    keepAlive = DateTime.UtcNow;
                }

                await context.Response.Body.FlushAsync(ct);
                if (changes.Count < 500)
                {
                    // Woken by the sink's commit in this process; another process's commits show at the next poll.
                    await CommitSignal.WaitAsync(next, TimeSpan.FromMilliseconds(100), ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    /// <summary>
    /// The portal's live feed: a <c>gateways</c> snapshot first (and every 5 s), then an <c>asset</c> event with
    /// the whole item for each change from now on.
    /// </summary>
    private static async Task StreamPortalAsync(HttpContext context, ITrackingStore store, GatewayDirectory gateways, CommitSignal committed)
    {
        var ct = context.RequestAborted;
        StartEvents(context);
        try
        {
            var last = await store.LastChangeSequenceAsync(ct);
            await WriteEventAsync(context.Response, "gateways", gateways.Snapshot(), ct);
            await context.Response.Body.FlushAsync(ct);
            var refreshed = DateTime.UtcNow;
            while (!ct.IsCancellationRequested)
            {
                var next = committed.Next;
                var changes = await store.ChangesAsync(last, 500, ct);
                foreach (var id in changes.Select(c => c.AssetId).Distinct())
                {
                    if (await store.GetAssetAsync(id, ct) is { } a)
                    {
                        await WriteEventAsync(context.Response, "asset", AssetItem.From(a), ct);
                    }
                }

                if (changes.Count > 0)
                {
                    last = changes[^1].Sequence;
                }

                if (DateTime.UtcNow - refreshed > TimeSpan.FromSeconds(5))
                {
                    // Gateway liveness changes with time alone.
                    await WriteEventAsync(context.Response, "gateways", gateways.Snapshot(), ct);
                    refreshed = DateTime.UtcNow;
                }

                await context.Response.Body.FlushAsync(ct);
                if (changes.Count < 500)
                {
                    // Woken by the sink's commit in this process; another process's commits show at the next poll.
                    await CommitSignal.WaitAsync(next, TimeSpan.FromMilliseconds(100), ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static void StartEvents(HttpContext context)
    {
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
    }

    private static async Task WriteEventAsync<T>(HttpResponse response, string name, T data, CancellationToken ct) =>
        await response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(data, CloudApi.Json)}\n\n", ct);

    /// <summary>Maps <c>/readyz</c> alone (every role has it).</summary>
    public static void MapReadiness(this WebApplication app) => app.MapGet("/readyz", ReadyAsync);

    private static async Task<IResult> ReadyAsync(IServiceProvider services, CancellationToken ct)
    {
        var reasons = new List<string>();
        if (services.GetService<EdgeStream.EventLog.IEventLog>() is { } log)
        {
            try
            {
                for (var p = 0; p < log.PartitionCount; p++)
                {
                    await log.GetOffsetsAsync(p, ct);
                }
            }
            catch (Exception ex) when (ex is EdgeStream.EventLog.EventLogException or TimeoutException or IOException)
            {
                reasons.Add("the event log cannot be read: " + ex.Message);
            }
        }

        if (services.GetService<ITrackingStore>() is { } store)
        {
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
                bounded.CancelAfter(TimeSpan.FromSeconds(5));
                await store.PingAsync(bounded.Token);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or OperationCanceledException or InvalidOperationException)
            {
                reasons.Add("the database cannot be reached: " + ex.Message);
            }
        }

        if (services.GetService<TrackingHost>() is { } host && await host.NotReadyReasonAsync(ct) is { } why)
        {
            reasons.Add(why);
        }

        return reasons.Count == 0
            ? Results.Json(new { ready = true }, CloudApi.Json)
            : Results.Json(new { ready = false, reasons }, CloudApi.Json, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private sealed record AssetBody(string? Id, string? Name, string? Type, string? Owner, string? HomeZone, Dictionary<string, string>? Attributes, List<string>? Tags);

    private sealed record SiteBody(string? Name, string? Parent, string? TimeZone, Dictionary<string, string>? Attributes);

    private sealed record GatewaySiteBody(string? Site);
}
