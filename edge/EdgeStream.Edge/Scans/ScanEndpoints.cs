using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeStream.Contracts;
using EdgeStream.Readers;
using EdgeStream.Readers.Scanners;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EdgeStream.Edge.Scans;

/// <summary>
/// <c>POST /api/scans</c>: handheld apps post what their operator scanned; each scan becomes a read with
/// source <see cref="SourceKind.Handheld"/> and the operator's id. A request is accepted whole (202 with
/// the count) or refused whole (400 naming the bad field, 413 when too large).
/// </summary>
public static class ScanEndpoints
{
    /// <summary>Maps the endpoint. <paramref name="readerId"/> stands in when a request names no device.</summary>
    public static IEndpointRouteBuilder MapScanEndpoints(this IEndpointRouteBuilder app, IReadSink sink, string readerId = "handheld", TimeProvider? clock = null)
    {
        app.MapPost("/api/scans", async Task<IResult> (HttpContext http) =>
        {
            if (http.Request.ContentLength > ScanRequest.MaxBodyBytes)
            {
                return Results.Json(new ScanError($"body is larger than {ScanRequest.MaxBodyBytes} bytes"), ScanJsonContext.Default.ScanError, statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            using var body = new MemoryStream();
            var chunk = new byte[8192];
            int n;
            while ((n = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
            {
                if (body.Length + n > ScanRequest.MaxBodyBytes)
                {
                    return Results.Json(new ScanError($"body is larger than {ScanRequest.MaxBodyBytes} bytes"), ScanJsonContext.Default.ScanError, statusCode: StatusCodes.Status413PayloadTooLarge);
                }

                body.Write(chunk, 0, n);
            }

            if (!ScanRequest.TryParse(body.GetBuffer().AsSpan(0, (int)body.Length), readerId, EventTimes.NowUs(clock), out var reads, out var error))
            {
                sink.OnEvent(new ReaderEvent(readerId, ReaderEventKind.FrameRejected, $"scan request rejected: {error}", EventTimes.NowUs(clock)));
                return Results.Json(new ScanError(error), ScanJsonContext.Default.ScanError, statusCode: StatusCodes.Status400BadRequest);
            }

            await sink.WriteAsync(reads, http.RequestAborted);
            return Results.Json(new ScanAccepted(reads.Length), ScanJsonContext.Default.ScanAccepted, statusCode: StatusCodes.Status202Accepted);
        });
        return app;
    }
}

/// <summary>Body of a refused scan request.</summary>
internal sealed record ScanError(string Error);

/// <summary>Body of an accepted scan request.</summary>
internal sealed record ScanAccepted(int Accepted);

/// <summary>Compile-time JSON for the scan endpoint's answers: the published daemon is trimmed, so no reflection serialization.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ScanError))]
[JsonSerializable(typeof(ScanAccepted))]
internal sealed partial class ScanJsonContext : JsonSerializerContext;
