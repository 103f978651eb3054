using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeStream.Gateways;
using EdgeStream.Observability;

namespace EdgeStream.Cloud.Http;

/// <summary>
/// The HTTP contract scripts and tests rely on: <c>GET /api/gateways</c>, <c>GET /api/deadletters</c>,
/// <c>GET /api/status</c>, <c>GET /healthz</c>, <c>GET /metrics</c>; tracking is in <see cref="TrackingApi"/>.
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
        app.MapGet("/api/gateways", async (GatewayDirectory gateways, CloudOptions options, IServiceProvider services, ILoggerFactory logs, CancellationToken ct) =>
            services.GetService<EdgeStream.Ingest.IngestPipeline>() is null && options.IngestNodes.Count > 0
                ? Results.Json(await IngestNodes.GatewaysAsync(options.IngestNodes, logs.CreateLogger("EdgeStream.Cloud.IngestNodes"), ct), Json)
                : Results.Json(gateways.Snapshot(), Json));
        app.MapGet("/api/deadletters", (string? gateway, string? reason, int? limit, IServiceProvider services) =>
            services.GetService<EdgeStream.Ingest.IngestPipeline>() is not { } pipeline
                ? Results.Problem(title: "Not here", detail: "This process does not run ingest (--role); ask an ingest process.", statusCode: StatusCodes.Status404NotFound)
                : limit is < 1 or > 1000
                ? TrackingApi.BadRequest("limit must be 1..1000.")
                : Results.Json(
                    pipeline.DeadLetters.Query(new EdgeStream.Ingest.DeadLetterQuery { GatewayId = gateway, Reason = reason, Limit = limit ?? 100 })
                        .Select(d => new { d.Id, d.ReceivedAt, d.GatewayId, d.Topic, d.Reason, d.Detail, d.OriginalLength, payloadBase64 = Convert.ToBase64String(d.Payload) }),
                    Json));
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/api/status", async (CloudOptions options, IServiceProvider services, CancellationToken ct) =>
        {
            var host = services.GetService<EdgeStream.Cloud.Tracking.TrackingHost>();
            var store = services.GetService<EdgeStream.Tracking.Storage.ITrackingStore>();
            var log = services.GetService<EdgeStream.EventLog.IEventLog>();

            // The status page reports a database that is down rather than failing with it.
            int? schema = null;
            string? databaseError = host?.Sink?.LastError;
            if (store is not null)
            {
                try
                {
                    schema = await store.SchemaVersionAsync(ct);
                }
                catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
                {
                    databaseError ??= ex.Message;
                }
            }

            return Results.Json(new
            {
                role = options.Role.ToString().ToLowerInvariant(),
                eventLog = log?.Name,
                partitions = log?.PartitionCount,
                logRecords = log is null ? (long?)null : await RecordsAsync(log, ct),
                database = store?.Provider,
                schemaVersion = schema,
                tracking = host?.Runner?.Status().Select(s => new { s.Partition, watermark = TrackingApi.Time(s.Watermark is long.MinValue or long.MaxValue ? null : s.Watermark), s.OffsetLag, s.Keys, s.BufferedEvents, s.Events, s.Late, s.LateAccepted, s.Malformed, s.Duplicates, s.Outputs, s.CheckpointsCompleted, s.CheckpointedOffset, s.RestoredCheckpointId, s.RestoredOffset, s.NextOffset, s.Faulted }),
                pendingWrites = host?.Sink?.Pending,
                databaseError,
                bufferedEvents = host?.Runner?.Status().Sum(s => s.BufferedEvents),
                notReady = host is null ? null : await host.NotReadyReasonAsync(ct),
            }, Json);
        });
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

    private static async Task<long> RecordsAsync(EdgeStream.EventLog.IEventLog log, CancellationToken ct)
    {
        long n = 0;
        for (var p = 0; p < log.PartitionCount; p++)
        {
            var o = await log.GetOffsetsAsync(p, ct);
            n += o.End - o.Start;
        }

        return n;
    }
}
