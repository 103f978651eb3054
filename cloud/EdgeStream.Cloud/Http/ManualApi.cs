using System.Globalization;
using System.Text.Json;
using EdgeStream.Cloud.Tracking;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Cloud.Http;

/// <summary>
/// People's events over HTTP: <c>POST /api/events</c> (a scan placing an asset, a workflow action, a
/// correction), <c>POST /api/assets/{id}/override</c> and <c>DELETE</c> of it, and <c>GET /api/events</c>.
/// Each is kept in the database (accepted: 202) and appended to the event log by the relay, so it is
/// replayed, checkpointed and placed by event time like a read. A client id makes a repeat harmless
/// (200 with the event kept the first time); the same id with other content is 409. Bad bodies get
/// RFC 7807 answers naming each bad field.
/// </summary>
public static class ManualApi
{
    private const int MaxBodyBytes = 16 * 1024;
    private const long FutureSlackUs = 5_000_000;

    /// <summary>Maps the endpoints.</summary>
    public static void MapManualApi(this WebApplication app)
    {
        app.MapPost("/api/events", (HttpRequest request, IServiceProvider services, CancellationToken ct) => SubmitAsync(request, null, null, services, ct));
        app.MapPost("/api/assets/{id}/override", (string id, HttpRequest request, IServiceProvider services, CancellationToken ct) => SubmitAsync(request, id, ManualKind.Override, services, ct));
        app.MapDelete("/api/assets/{id}/override", (string id, HttpRequest request, IServiceProvider services, CancellationToken ct) => SubmitAsync(request, id, ManualKind.Release, services, ct));
        app.MapGet("/api/events", ListAsync);
    }

    private static async Task<IResult> ListAsync(string? asset, int? limit, string? cursor, IManualEventStore store, CancellationToken ct)
    {
        if (!TrackingApi.TryLimit(limit, out var n, out var error))
        {
            return error!;
        }

        try
        {
            var page = await store.ListManualAsync(asset, n, cursor, ct);
            return Results.Json(new { items = page.Items.Select(Item), next = page.Next }, CloudApi.Json);
        }
        catch (ArgumentException ex)
        {
            return TrackingApi.BadRequest(ex.Message);
        }
    }

    private static async Task<IResult> SubmitAsync(HttpRequest request, string? assetId, ManualKind? kind, IServiceProvider services, CancellationToken ct)
    {
        var store = services.GetRequiredService<IManualEventStore>();
        var tracking = services.GetRequiredService<ITrackingStore>();
        var options = services.GetRequiredService<CloudOptions>();
        var nowUs = EventTimes.ToUnixMicroseconds(services.GetRequiredService<TimeProvider>().GetUtcNow());

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length > MaxBodyBytes)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"the body is larger than {MaxBodyBytes} bytes.");
        }

        JsonElement body;
        try
        {
            body = buffer.Length == 0 && kind == ManualKind.Release ? default : JsonSerializer.Deserialize<JsonElement>(buffer.ToArray());
        }
        catch (JsonException ex)
        {
            return Problem(StatusCodes.Status400BadRequest, "The body is not JSON", ex.Message);
        }

        var errors = new List<(string Path, string Message)>();
        var fields = Fields(body, request, errors);
        var clientId = Text(fields, "id", errors, required: false) ?? Guid.NewGuid().ToString("N");
        kind ??= Kind(Text(fields, "type", errors, required: true), errors);
        var by = Text(fields, "by", errors, required: true);
        var reason = Text(fields, "reason", errors, required: false);
        var zone = Text(fields, "zone", errors, required: kind is ManualKind.Place or ManualKind.Override);
        var action = Text(fields, "action", errors, required: kind == ManualKind.Action);
        var time = Time(fields, "time", errors) ?? nowUs;
        var until = Time(fields, "until", errors) ?? 0;
        assetId ??= Text(fields, "asset", errors, required: false) ?? Text(fields, "epc", errors, required: false);
        if (assetId is null && !errors.Any(e => e.Path is "asset" or "epc"))
        {
            errors.Add(("asset", "is required: the asset's id or one of its EPCs."));
        }

        if (zone is not null && kind is ManualKind.Action or ManualKind.Release)
        {
            errors.Add(("zone", $"does not apply to {kind.ToString()!.ToLowerInvariant()}."));
        }

        if (action is not null && kind != ManualKind.Action)
        {
            errors.Add(("action", "applies to type 'action' only."));
        }

        var lateness = options.Engine.AllowedLatenessUs;
        if (time > nowUs + FutureSlackUs)
        {
            errors.Add(("time", "is in the future."));
        }
        else if (time < nowUs - lateness)
        {
            errors.Add(("time", $"is more than the allowed lateness ({lateness / 1_000_000} s) in the past: the stream has moved on; enter it as now."));
        }

        if (until != 0 && kind != ManualKind.Override)
        {
            errors.Add(("until", "applies to an override only."));
        }
        else if (until != 0 && until <= time)
        {
            errors.Add(("until", "must be later than the event's time."));
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        if (await tracking.GetAssetAsync(assetId!, ct) is not { } asset)
        {
            return TrackingApi.NotFound("asset", assetId!);
        }

        // The tag the asset is located by, else its first: the job keeps state per tag.
        var epc = asset.Location.Epc ?? (asset.Tags.Count > 0 ? asset.Tags[0] : null);
        if (epc is null)
        {
            return Problem(StatusCodes.Status422UnprocessableEntity, "The asset has no tag", $"Asset '{asset.Id}' has no tag to place.");
        }

        var input = new ManualInput(clientId, asset.Id, epc, kind!.Value, zone, action, until, by!, reason, time, nowUs);
        var (record, created) = await store.RecordManualAsync(input, ct);
        if (!created && !SameEvent(record.Event, input))
        {
            return Problem(StatusCodes.Status409Conflict, "The id names another event", $"Event id '{clientId}' was used for another event; use a new id for a new event.");
        }

        services.GetService<ManualEventRelay>()?.Wake();
        return Results.Json(Item(record), CloudApi.Json, statusCode: created ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    // A repeat of the same request: everything but the times the server filled in.
    private static bool SameEvent(ManualInput kept, ManualInput again) =>
        kept with { EventUs = 0, ReceivedUs = 0 } == again with { EventUs = 0, ReceivedUs = 0 } || kept with { ReceivedUs = 0 } == again with { ReceivedUs = 0 };

    private static object Item(ManualRecord r) => new
    {
        id = r.Event.ClientId,
        sequence = r.Sequence,
        type = r.Event.Kind.ToString().ToLowerInvariant(),
        asset = r.Event.AssetId,
        epc = r.Event.Epc,
        zone = r.Event.Zone,
        action = r.Event.Action,
        time = TrackingApi.Time(r.Event.EventUs),
        until = r.Event.UntilUs == 0 ? null : TrackingApi.Time(r.Event.UntilUs),
        by = r.Event.By,
        reason = r.Event.Reason,
        received = TrackingApi.Time(r.Event.ReceivedUs),
        status = r.Appended ? "in the log" : "accepted",
    };

    private static Dictionary<string, JsonElement> Fields(JsonElement body, HttpRequest request, List<(string, string)> errors)
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (body.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in body.EnumerateObject())
            {
                if (p.Name is not ("id" or "type" or "asset" or "epc" or "zone" or "action" or "time" or "until" or "by" or "reason"))
                {
                    errors.Add((p.Name, "is not a field of a manual event (id, type, asset, epc, zone, action, time, until, by, reason)."));
                }
                else if (!fields.TryAdd(p.Name, p.Value))
                {
                    errors.Add((p.Name, "is given twice."));
                }
            }
        }
        else if (body.ValueKind != JsonValueKind.Undefined)
        {
            errors.Add(("", "the body must be a JSON object."));
        }

        // DELETE of an override may say who and why in the query instead of a body.
        foreach (var name in new[] { "by", "reason", "id" })
        {
            if (!fields.ContainsKey(name) && request.Query[name].FirstOrDefault() is { } q)
            {
                fields[name] = JsonSerializer.SerializeToElement(q);
            }
        }

        return fields;
    }

    private static string? Text(Dictionary<string, JsonElement> fields, string name, List<(string, string)> errors, bool required)
    {
        if (!fields.TryGetValue(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add((name, "is required."));
            }

            return null;
        }

        if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
        {
            errors.Add((name, "must be a non-empty string."));
            return null;
        }

        var s = v.GetString()!;
        if (System.Text.Encoding.UTF8.GetByteCount(s) > WireLimits.MaxStringBytes)
        {
            errors.Add((name, $"is longer than {WireLimits.MaxStringBytes} UTF-8 bytes."));
            return null;
        }

        return s;
    }

    private static long? Time(Dictionary<string, JsonElement> fields, string name, List<(string, string)> errors)
    {
        if (!fields.TryGetValue(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.String && TrackingApi.TryParseTime(v.GetString(), out var us))
        {
            return us;
        }

        errors.Add((name, "must be an ISO-8601 time such as 2026-12-07T14:00:00Z."));
        return null;
    }

    private static ManualKind? Kind(string? type, List<(string, string)> errors)
    {
        switch (type)
        {
            case null:
                return null;
            case "place":
                return ManualKind.Place;
            case "action":
                return ManualKind.Action;
            case "correction":
                return ManualKind.Correction;
            default:
                errors.Add(("type", $"'{type}' is not one of place, action, correction (overrides: POST /api/assets/{{id}}/override)."));
                return null;
        }
    }

    private static IResult Invalid(List<(string Path, string Message)> errors) => Results.Problem(
        title: "The event is not valid; nothing was accepted",
        detail: string.Join("; ", errors.Select(e => e.Path.Length == 0 ? e.Message : $"{e.Path}: {e.Message}")),
        statusCode: StatusCodes.Status422UnprocessableEntity,
        extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { path = e.Path, message = e.Message }) });

    private static IResult Problem(int status, string title, string detail) => Results.Problem(title: title, detail: detail, statusCode: status);
}
