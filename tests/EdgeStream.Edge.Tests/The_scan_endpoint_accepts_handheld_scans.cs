using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Edge.Http;
using EdgeStream.Edge.Scans;
using EdgeStream.Readers.Scanners;
using Microsoft.Extensions.Logging.Abstractions;

using EdgeStream.Readers.Tests;

namespace EdgeStream.Edge.Tests;

/// <summary>POST /api/scans on the daemon's HTTP server on a real port: good requests become handheld reads, bad ones get 400 naming the field.</summary>
[Trait("Capability", "Readers")]
public sealed class The_scan_endpoint_accepts_handheld_scans
{
    [Fact]
    public async Task Scans_are_accepted_whole_or_refused_with_the_reason()
    {
        var sink = new TestSink();
        await using var server = EdgeHttpServer.Bind(new IPEndPoint(IPAddress.Loopback, 0), NullLogger.Instance, new HttpServerLimits { MaxBodyBytes = ScanRequest.MaxBodyBytes });
        server.MapScanEndpoints(sink, "edge-handheld");
        server.Start();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        var ok = await http.PostAsJsonAsync("/api/scans", new
        {
            @operator = "nurse-4",
            scans = new object[] { new { code = "3034257BF400B7800004CB2F", time = "2026-11-24T08:00:00.5Z" }, new { code = "4006381333931" } },
        });
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        Assert.Equal(2, (await ok.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32());

        var bad = await http.PostAsJsonAsync("/api/scans", new { @operator = "nurse-4", scans = new object[] { new { code = "AB" }, new { code = "bad code" } } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("scans[1].code", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);

        var huge = await http.PostAsync("/api/scans", new ByteArrayContent(new byte[400 * 1024]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        var reads = sink.Reads;
        Assert.Equal(2, reads.Count);
        Assert.All(reads, r =>
        {
            Assert.Equal(SourceKind.Handheld, r.Source);
            Assert.Equal("nurse-4", r.OperatorId);
            Assert.Equal("edge-handheld", r.ReaderId);
        });
        Assert.Equal("2026-11-24T08:00:00.500000Z", EventTimes.ToIso(reads[0].EventTimeUs));
        Assert.Equal(1, sink.Count(EdgeStream.Readers.ReaderEventKind.FrameRejected));
    }
}
