using System.Text;
using System.Text.Json;
using EdgeStream.Cloud.Tracking;
using EdgeStream.Contracts;
using EdgeStream.Rules.Definitions;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Cloud.Http;

/// <summary>
/// Workflows and alerts over HTTP: definitions (list, one, a new version with validation errors that
/// name the line and field), an asset's state history, and alerts (list with filters, one with its
/// steps, acknowledge, resolve, snooze). Errors are RFC 7807 problem details.
/// </summary>
public static class WorkflowApi
{
    private const int MaxDefinitionBytes = 1 << 20;

    /// <summary>Maps the endpoints.</summary>
    public static void MapWorkflowApi(this WebApplication app)
    {
        app.MapGet("/api/workflows", async (IWorkflowStore store, CancellationToken ct) =>
            Results.Json(new { items = (await store.ListWorkflowsAsync(ct)).Select(w => VersionItem(w, includeBody: false)), next = (string?)null }, CloudApi.Json));
        app.MapGet("/api/workflows/{id}", GetWorkflowAsync);
        app.MapPost("/api/workflows", PostWorkflowAsync);
        app.MapGet("/api/assets/{id}/states", StatesAsync);
        app.MapGet("/api/alerts", ListAlertsAsync);
        app.MapGet("/api/alerts/{id:long}", async (long id, IWorkflowStore store, CancellationToken ct) =>
            await store.GetAlertAsync(id, ct) is { } a ? Results.Json(AlertItem(a), CloudApi.Json) : TrackingApi.NotFound("alert", id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        app.MapPost("/api/alerts/{id:long}/ack", (long id, HttpRequest request, IWorkflowStore store, CancellationToken ct) => ChangeAsync(id, AlertAction.Acknowledge, request, store, ct));
        app.MapPost("/api/alerts/{id:long}/resolve", (long id, HttpRequest request, IWorkflowStore store, CancellationToken ct) => ChangeAsync(id, AlertAction.Resolve, request, store, ct));
        app.MapGet("/api/notifications/dead-letters", async (string? channel, INotificationStore store, CancellationToken ct) =>
            Results.Json(new { items = (await store.ListNotificationDeadLettersAsync(channel, ct)).Select(d => new { d.Channel, d.Seq, d.Attempts, d.Error, at = TrackingApi.Time(d.AtUs) }), next = (string?)null }, CloudApi.Json));
        app.MapPost("/api/alerts/{id:long}/snooze", (long id, HttpRequest request, IWorkflowStore store, CancellationToken ct) => ChangeAsync(id, AlertAction.Snooze, request, store, ct));
    }

    private static object VersionItem(StoredWorkflow w, bool includeBody) => new
    {
        w.Id,
        w.Version,
        w.AssetType,
        effective = TrackingApi.Time(w.EffectiveUs),
        saved = TrackingApi.Time(w.SavedUs),
        savedBy = w.SavedBy,
        definition = includeBody ? JsonSerializer.Deserialize<JsonElement>(w.Body) : (JsonElement?)null,
    };

    private static async Task<IResult> GetWorkflowAsync(string id, IWorkflowStore store, CancellationToken ct)
    {
        var versions = (await store.ListWorkflowsAsync(ct)).Where(w => w.Id == id).ToList();
        return versions.Count == 0
            ? TrackingApi.NotFound("workflow", id)
            : Results.Json(new { latest = VersionItem(versions[^1], includeBody: true), versions = versions.Select(v => VersionItem(v, includeBody: false)) }, CloudApi.Json);
    }

    private static async Task<IResult> PostWorkflowAsync(HttpRequest request, string? effective, string? by, DefinitionDirectory workflows, CancellationToken ct)
    {
        var (body, effectiveUs, error) = await ReadDefinitionAsync(request, effective, by, "workflow", ct);
        if (error is not null)
        {
            return error;
        }

        try
        {
            var saved = await workflows.SaveAsync(body!, by!, effectiveUs, ct);
            return Results.Json(
                new { saved.Definition.Id, saved.Definition.Version, saved.Definition.AssetType, effective = TrackingApi.Time(saved.EffectiveUs) },
                CloudApi.Json,
                statusCode: StatusCodes.Status201Created);
        }
        catch (DefinitionException ex)
        {
            return Invalid("workflow", ex);
        }
    }

    /// <summary>Reads a definition body with its <c>effective</c> time (null: the default) and who saves it; or the 400 answer.</summary>
    internal static async Task<(string? Body, long? EffectiveUs, IResult? Error)> ReadDefinitionAsync(HttpRequest request, string? effective, string? by, string what, CancellationToken ct)
    {
        if (WhoAndWhen(effective, by, "saves this version", out var effectiveUs) is { } error)
        {
            return (null, null, error);
        }

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length is 0 or > MaxDefinitionBytes)
        {
            return (null, null, TrackingApi.BadRequest($"the body must be a {what} definition (JSON) of 1 byte to {MaxDefinitionBytes} bytes."));
        }

        return (Encoding.UTF8.GetString(buffer.ToArray()), effectiveUs, null);
    }

    /// <summary>Who changes a definition (<c>?by=</c>, required) and from when (<c>?effective=</c>, null: the default); or the 400 answer.</summary>
    internal static IResult? WhoAndWhen(string? effective, string? by, string doing, out long? effectiveUs)
    {
        effectiveUs = null;
        if (!TrackingApi.TryTime(effective, "effective", long.MinValue, out var at, out var error))
        {
            return error;
        }

        if (string.IsNullOrWhiteSpace(by))
        {
            return TrackingApi.BadRequest($"by is required: who {doing} (?by=NAME).");
        }

        effectiveUs = at == long.MinValue ? null : at;
        return null;
    }

    /// <summary>422 with every problem as <c>errors: [{line, path, message}]</c>.</summary>
    internal static IResult Invalid(string what, DefinitionException ex) =>
        Results.Problem(
            title: $"The {what} is not valid; the running set is unchanged",
            detail: ex.Message,
            statusCode: StatusCodes.Status422UnprocessableEntity,
            extensions: new Dictionary<string, object?> { ["errors"] = ex.Errors.Select(e => new { line = e.Line, path = e.Path, message = e.Message }) });

    private static async Task<IResult> StatesAsync(string id, string? from, string? to, int? limit, string? cursor, ITrackingStore tracking, IWorkflowStore store, CancellationToken ct)
    {
        if (!TrackingApi.TryLimit(limit, out var n, out var error) || !TrackingApi.TryTime(from, "from", long.MinValue, out var f, out error) || !TrackingApi.TryTime(to, "to", long.MaxValue, out var t, out error))
        {
            return error!;
        }

        if (await tracking.GetAssetAsync(id, ct) is not { } asset)
        {
            return TrackingApi.NotFound("asset", id);
        }

        try
        {
            var page = await store.StatesAsync(asset.Id, f, t, n, cursor, ct);
            return Results.Json(
                new
                {
                    items = page.Items.Select(s => new { asset = s.AssetId, s.Epc, workflow = s.WorkflowId, s.Version, s.State, fromState = s.FromState, s.Cause, from = TrackingApi.Time(s.FromUs), to = TrackingApi.Time(s.ToUs) }),
                    next = page.Next,
                },
                CloudApi.Json);
        }
        catch (ArgumentException ex)
        {
            return TrackingApi.BadRequest(ex.Message);
        }
    }

    private static async Task<IResult> ListAlertsAsync(string? status, string? severity, string? asset, string? rule, string? from, string? to, int? limit, string? cursor, ITrackingStore tracking, IWorkflowStore store, CancellationToken ct)
    {
        if (!TrackingApi.TryLimit(limit, out var n, out var error) || !TrackingApi.TryTime(from, "from", long.MinValue, out var f, out error) || !TrackingApi.TryTime(to, "to", long.MaxValue, out var t, out error))
        {
            return error!;
        }

        if (status is not (null or "open" or "acknowledged" or "resolved"))
        {
            return TrackingApi.BadRequest($"status '{status}' is not one of open, acknowledged, resolved.");
        }

        if (severity is not (null or "info" or "warning" or "critical"))
        {
            return TrackingApi.BadRequest($"severity '{severity}' is not one of info, warning, critical.");
        }

        // An asset is named by id or by one of its tags, as everywhere else.
        var assetId = asset is null ? null : (await tracking.GetAssetAsync(asset, ct))?.Id ?? asset;
        try
        {
            var page = await store.ListAlertsAsync(new AlertFilter(status, severity, assetId, rule, f == long.MinValue ? null : f, t == long.MaxValue ? null : t), n, cursor, ct);
            return Results.Json(new { items = page.Items.Select(AlertItem), next = page.Next }, CloudApi.Json);
        }
        catch (ArgumentException ex)
        {
            return TrackingApi.BadRequest(ex.Message);
        }
    }

    private static async Task<IResult> ChangeAsync(long id, AlertAction action, HttpRequest request, IWorkflowStore store, CancellationToken ct)
    {
        AlertChangeBody? body;
        try
        {
            body = request.ContentLength is 0 ? null : await request.ReadFromJsonAsync<AlertChangeBody>(CloudApi.Json, ct);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return TrackingApi.BadRequest("the body is not {\"by\":…,\"reason\":…,\"until\":…}: " + ex.Message);
        }

        if (string.IsNullOrWhiteSpace(body?.By) || body.By.Length > 200)
        {
            return TrackingApi.BadRequest("by is required (1..200 characters): who takes this step.");
        }

        if (body.Reason is { Length: > 2000 })
        {
            return TrackingApi.BadRequest("reason is longer than 2000 characters.");
        }

        if (action == AlertAction.Snooze && body.Until is null)
        {
            return TrackingApi.BadRequest("until is required to snooze, e.g. {\"by\":\"nurse-ann\",\"until\":\"2026-12-05T15:00:00Z\"}.");
        }

        try
        {
            var until = body.Until is { } u ? EventTimes.ToUnixMicroseconds(u) : (long?)null;
            var changed = await store.ChangeAlertAsync(id, new AlertChange(action, body.By, body.Reason, EventTimes.NowUs(), until), ct);
            return changed is null ? TrackingApi.NotFound("alert", id.ToString(System.Globalization.CultureInfo.InvariantCulture)) : Results.Json(AlertItem(changed), CloudApi.Json);
        }
        catch (AlertStateException ex)
        {
            return Results.Problem(title: "The alert cannot take that step", detail: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }

    private static object AlertItem(Alert a) => new
    {
        a.Id,
        rule = a.RuleId,
        asset = a.AssetId,
        a.Epc,
        a.State,
        a.Severity,
        a.Message,
        a.Status,
        a.Level,
        raised = TrackingApi.Time(a.RaisedUs),
        acknowledged = TrackingApi.Time(a.AcknowledgedUs),
        acknowledgedBy = a.AcknowledgedBy,
        resolved = TrackingApi.Time(a.ResolvedUs),
        resolvedBy = a.ResolvedBy,
        snoozedUntil = TrackingApi.Time(a.SnoozedUntilUs),
        steps = a.Steps.Select(s => new { at = TrackingApi.Time(s.AtUs), s.Step, by = s.Actor, s.Reason }),
    };

    private sealed record AlertChangeBody(string? By, string? Reason, DateTimeOffset? Until);
}
