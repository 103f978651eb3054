using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeStream.Cloud.Assets;
using EdgeStream.Cloud.Gateways;
using EdgeStream.Observability;

namespace EdgeStream.Cloud.Http;

/// <summary>
/// The HTTP contract scripts and tests rely on: <c>GET /api/assets</c>, <c>GET /api/gateways</c>,
/// <c>GET /api/assets/stream</c> (server-sent events), <c>GET /healthz</c>, <c>GET /metrics</c>.
/// </summary>
public static class CloudApi
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Maps the API endpoints.</summary>
    public static void MapCloudApi(this WebApplication app)
    {
        app.MapGet("/api/assets", (AssetDirectory assets) => Results.Json(assets.Snapshot(), Json));
        app.MapGet("/api/assets/{epc}", (string epc, AssetDirectory assets) =>
            EdgeStream.Contracts.Epc.TryParseHex(epc, out var e)
                ? assets.Find(e) is { } view ? Results.Json(view, Json) : Results.NotFound(new { error = $"No asset with EPC {epc.ToUpperInvariant()}." })
                : Results.BadRequest(new { error = $"'{epc}' is not an EPC: expected an even number of hex digits." }));
        app.MapGet("/api/gateways", (GatewayDirectory gateways) => Results.Json(gateways.Snapshot(), Json));
        app.MapGet("/api/assets/stream", StreamAssetsAsync);
        app.MapGet("/api/deadletters", (string? gateway, string? reason, int? limit, EdgeStream.Ingest.IngestPipeline pipeline) =>
            limit is < 1 or > 1000
                ? Results.BadRequest(new { error = "limit must be 1..1000." })
                : Results.Json(
                    pipeline.DeadLetters.Query(new EdgeStream.Ingest.DeadLetterQuery { GatewayId = gateway, Reason = reason, Limit = limit ?? 100 })
                        .Select(d => new { d.Id, d.ReceivedAt, d.GatewayId, d.Topic, d.Reason, d.Detail, d.OriginalLength, payloadBase64 = Convert.ToBase64String(d.Payload) }),
                    Json));
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/api/status", (AssetProjection projection, AssetDirectory assets, EdgeStream.EventLog.IEventLog log) => Results.Json(new
        {
            eventLog = log.Name,
            partitions = log.PartitionCount,
            assets = assets.Count,
            assetViewCaughtUp = projection.CaughtUp,
            undecodableRecords = projection.Undecodable,
        }, Json));
        app.MapGet("/metrics", (PrometheusExporter exporter) => Results.Text(exporter.Render(), PrometheusExporter.ContentType));
    }

    /// <summary>Serves the portal's files, embedded in the assembly so the binary works from any folder.</summary>
    public static void MapPortal(this WebApplication app)
    {
        var asm = typeof(CloudApi).Assembly;
        app.MapGet("/", () => Resource(asm, "index.html", "text/html; charset=utf-8"));
        app.MapGet("/portal/{file}", (string file) => file switch
        {
            "app.js" => Resource(asm, file, "text/javascript; charset=utf-8"),
            "app.css" => Resource(asm, file, "text/css; charset=utf-8"),
            _ => Results.NotFound(),
        });
    }

    private static IResult Resource(Assembly asm, string name, string contentType)
    {
        using var stream = asm.GetManifestResourceStream("portal/" + name);
        if (stream is null)
        {
            return Results.NotFound();
        }

        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return Results.Bytes(ms.ToArray(), contentType);
    }

    /// <summary>
    /// Server-sent events: a snapshot of every asset, then each change as it happens. A slow client
    /// loses intermediate states (bounded queue) but always receives the latest.
    /// </summary>
    private static async Task StreamAssetsAsync(HttpContext context, AssetDirectory assets, GatewayDirectory gateways)
    {
        var ct = context.RequestAborted;
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var changes = assets.Watch(ct);
        try
        {
            foreach (var a in assets.Snapshot())
            {
                await WriteEventAsync(context.Response, "asset", a, ct);
            }

            await WriteEventAsync(context.Response, "gateways", gateways.Snapshot(), ct);
            await context.Response.Body.FlushAsync(ct);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
            var tick = timer.WaitForNextTickAsync(ct).AsTask();
            while (!ct.IsCancellationRequested)
            {
                var next = changes.WaitToReadAsync(ct).AsTask();
                var done = await Task.WhenAny(next, tick);
                if (done == tick)
                {
                    // Gateway liveness changes with time alone; refresh it periodically.
                    await WriteEventAsync(context.Response, "gateways", gateways.Snapshot(), ct);
                    tick = timer.WaitForNextTickAsync(ct).AsTask();
                }

                while (changes.TryRead(out var a))
                {
                    await WriteEventAsync(context.Response, "asset", a, ct);
                }

                await context.Response.Body.FlushAsync(ct);
                if (done == next && !await next)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // client went away
        }
    }

    private static async Task WriteEventAsync<T>(HttpResponse response, string name, T data, CancellationToken ct)
    {
        await response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(data, Json)}\n\n", ct);
    }
}
