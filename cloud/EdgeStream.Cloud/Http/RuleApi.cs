using System.Text.Json;
using EdgeStream.Cloud.Tracking;
using EdgeStream.Rules.Definitions;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Cloud.Http;

/// <summary>
/// Rules over HTTP: the rules in force, one rule with its versions, a new version (validated, with errors
/// that name the line and field; the running set is unchanged when it is refused), and removal, which is a
/// version too. Every change takes effect from a stated event time. Errors are RFC 7807 problem details.
/// </summary>
public static class RuleApi
{
    /// <summary>Maps the endpoints.</summary>
    public static void MapRuleApi(this WebApplication app)
    {
        app.MapGet("/api/rules", ListAsync);
        app.MapGet("/api/rules/{id}", GetAsync);
        app.MapPost("/api/rules", PostAsync);
        app.MapDelete("/api/rules/{id}", DeleteAsync);
    }

    private static async Task<IResult> ListAsync(bool? removed, IWorkflowStore store, CancellationToken ct)
    {
        var latest = (await store.ListRulesAsync(ct)).GroupBy(r => r.Id).Select(g => g.Last()).Where(r => removed == true || r.Enabled);
        return Results.Json(new { items = latest.Select(r => Item(r, includeBody: true)), next = (string?)null }, CloudApi.Json);
    }

    private static async Task<IResult> GetAsync(string id, IWorkflowStore store, CancellationToken ct)
    {
        var versions = (await store.ListRulesAsync(ct)).Where(r => r.Id == id).ToList();
        return versions.Count == 0
            ? TrackingApi.NotFound("rule", id)
            : Results.Json(new { latest = Item(versions[^1], includeBody: true), versions = versions.Select(v => Item(v, includeBody: false)) }, CloudApi.Json);
    }

    private static async Task<IResult> PostAsync(HttpRequest request, string? effective, string? by, DefinitionDirectory definitions, CancellationToken ct)
    {
        var (body, effectiveUs, error) = await WorkflowApi.ReadDefinitionAsync(request, effective, by, "rule", ct);
        if (error is not null)
        {
            return error;
        }

        try
        {
            var saved = await definitions.SaveRuleAsync(body!, by!, effectiveUs, ct);
            return Results.Json(Saved(saved.Definition, saved.EffectiveUs), CloudApi.Json, statusCode: StatusCodes.Status201Created);
        }
        catch (DefinitionException ex)
        {
            return WorkflowApi.Invalid("rule", ex);
        }
    }

    private static async Task<IResult> DeleteAsync(string id, string? effective, string? by, DefinitionDirectory definitions, CancellationToken ct)
    {
        if (WorkflowApi.WhoAndWhen(effective, by, "removes the rule", out var effectiveUs) is { } error)
        {
            return error;
        }

        try
        {
            var removal = await definitions.RemoveRuleAsync(id, by!, effectiveUs, ct);
            return removal is null ? TrackingApi.NotFound("rule", id) : Results.Json(Saved(removal.Definition, removal.EffectiveUs), CloudApi.Json);
        }
        catch (DefinitionException ex)
        {
            return Results.Problem(title: "The rule cannot be removed", detail: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }

    private static object Saved(RuleDefinition rule, long effectiveUs) =>
        new { rule.Id, rule.Version, rule.Enabled, effective = TrackingApi.Time(effectiveUs) };

    private static object Item(StoredRule r, bool includeBody) => new
    {
        r.Id,
        r.Version,
        r.Enabled,
        effective = TrackingApi.Time(r.EffectiveUs),
        saved = TrackingApi.Time(r.SavedUs),
        savedBy = r.SavedBy,
        definition = includeBody ? JsonSerializer.Deserialize<JsonElement>(r.Body) : (JsonElement?)null,
    };
}
