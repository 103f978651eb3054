using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeStream.Contracts;
using EdgeStream.Edge.Http;
using EdgeStream.Readers;
using EdgeStream.Readers.Scanners;

namespace EdgeStream.Edge.Scans;

/// <summary>
/// <c>POST /api/scans</c>: handheld apps post what their operator scanned; each scan becomes a read with
/// source <see cref="SourceKind.Handheld"/> and the operator's id. A request is accepted whole (202 with
/// the count) or refused whole (400 naming the bad field, 413 when too large: the server refuses a body
/// over <see cref="ScanRequest.MaxBodyBytes"/> before reading it).
/// </summary>
public static class ScanEndpoints
{
    /// <summary>The endpoint's path.</summary>
    public const string Path = "/api/scans";

    /// <summary>Maps the endpoint. <paramref name="readerId"/> stands in when a request names no device.</summary>
    public static EdgeHttpServer MapScanEndpoints(this EdgeHttpServer server, IReadSink sink, string readerId = "handheld", TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.Map("POST", Path, (request, cancellationToken) => AcceptAsync(request, sink, readerId, clock, cancellationToken));
        return server;
    }

    /// <summary>Handles one request body.</summary>
    private static async ValueTask<HttpResponse> AcceptAsync(HttpRequest request, IReadSink sink, string readerId, TimeProvider? clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sink);
        if (request.Body.Length > ScanRequest.MaxBodyBytes)
        {
            return HttpResponse.Error(413, $"body is larger than {ScanRequest.MaxBodyBytes} bytes");
        }

        if (!ScanRequest.TryParse(request.Body.Span, readerId, EventTimes.NowUs(clock), out var reads, out var error))
        {
            sink.OnEvent(new ReaderEvent(readerId, ReaderEventKind.FrameRejected, $"scan request rejected: {error}", EventTimes.NowUs(clock)));
            return HttpResponse.Error(400, error);
        }

        await sink.WriteAsync(reads, cancellationToken).ConfigureAwait(false);
        return HttpResponse.Json(202, JsonSerializer.SerializeToUtf8Bytes(new ScanAccepted(reads.Length), ScanJsonContext.Default.ScanAccepted));
    }
}

/// <summary>Body of an accepted scan request.</summary>
internal sealed record ScanAccepted(int Accepted);

/// <summary>Compile-time JSON for the scan endpoint's answers: the published daemon is trimmed, so no reflection serialization.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ScanAccepted))]
internal sealed partial class ScanJsonContext : JsonSerializerContext;
