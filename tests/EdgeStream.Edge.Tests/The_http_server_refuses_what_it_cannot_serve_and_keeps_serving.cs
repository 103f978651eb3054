using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeStream.Edge.Http;
using EdgeStream.Observability;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Edge.Tests;

/// <summary>
/// The daemon's loopback HTTP server over real sockets: malformed, oversized, unroutable and surplus
/// requests each get a clear 4xx/5xx with a JSON reason and a counted rejection; idle
/// connections are closed at the deadline; and the server keeps answering good requests throughout.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_http_server_refuses_what_it_cannot_serve_and_keeps_serving
{
    [Fact]
    public async Task Bad_requests_are_refused_with_the_reason_and_the_server_stays_up()
    {
        using var meter = new Meter("test-http-" + Guid.NewGuid().ToString("N"));
        using var exporter = new PrometheusExporter(meter);
        var limits = new HttpServerLimits { MaxConnections = 2, MaxHeaderBytes = 1024, MaxBodyBytes = 1000, RequestTimeout = TimeSpan.FromSeconds(10) };
        await using var server = EdgeHttpServer.Bind(new IPEndPoint(IPAddress.Loopback, 0), NullLogger.Instance, limits, meter);
        server.Map("GET", "/ping", (_, _) => ValueTask.FromResult(HttpResponse.Text(200, "pong", "text/plain")));
        server.Map("POST", "/echo", (r, _) => ValueTask.FromResult(new HttpResponse(200, "application/octet-stream", r.Body)));
        server.Start();
        var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        // Keep-alive: two requests on one connection, and a body echoed whole.
        var (status, body, closed) = await RawAsync(server, "GET /ping?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /ping HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, status);
        Assert.Equal(2, CountOf(body, "HTTP/1.1 200 OK"));
        Assert.True(closed);
        var echoed = await http.PostAsync("/echo", new ByteArrayContent(Encoding.ASCII.GetBytes("hello")));
        Assert.Equal("hello", await echoed.Content.ReadAsStringAsync());

        (status, body, closed) = await RawAsync(server, "GARBAGE\r\n\r\n");
        Assert.Equal(400, status);
        Assert.Contains("request line", body, StringComparison.Ordinal);
        Assert.True(closed);

        (status, body, _) = await RawAsync(server, "GET /ping HTTP/1.1\r\nX-Big: " + new string('a', 2000) + "\r\n\r\n");
        Assert.Equal(431, status);
        Assert.Contains("larger than 1024 bytes", body, StringComparison.Ordinal);

        // A chunked body (what HttpClient sends for streamed JSON) is read whole; extensions and trailers ignored.
        (status, body, _) = await RawAsync(server, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n");
        Assert.Equal(200, status);
        Assert.EndsWith("\r\n\r\nhello world", body, StringComparison.Ordinal);

        (status, body, _) = await RawAsync(server, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
        Assert.Equal(400, status);
        Assert.Contains("chunk size", body, StringComparison.Ordinal);

        (status, body, _) = await RawAsync(server, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n");
        Assert.Equal(413, status);

        (status, body, _) = await RawAsync(server, "POST /echo HTTP/1.1\r\nContent-Length: 12x\r\n\r\n");
        Assert.Equal(400, status);
        Assert.Contains("Content-Length", body, StringComparison.Ordinal);

        var tooBig = await http.PostAsync("/echo", new ByteArrayContent(new byte[50_000]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Contains("larger than 1000 bytes", await tooBig.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var missing = await http.GetAsync("/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var wrongMethod = await http.DeleteAsync("/ping");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Contains("answers GET", await wrongMethod.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Both connection slots held by clients that send nothing: a third connection is refused with 503,
        // and the idle two are closed at the request deadline, after which the server serves again.
        http.Dispose();
        await Wait.Until(() => server.OpenConnections == 0, "the client's pooled connections closed");
        using var idle1 = await ConnectAsync(server);
        using var idle2 = await ConnectAsync(server);
        await Wait.Until(() => server.OpenConnections == 2, "both idle connections accepted");
        (status, body, closed) = await RawAsync(server, "GET /ping HTTP/1.1\r\n\r\n", whenFull: true);
        Assert.Equal(503, status);
        Assert.Contains("more than 2 connections", body, StringComparison.Ordinal);
        Assert.True(closed);
        Assert.Equal(0, await ReadToCloseAsync(idle1));
        Assert.Equal(0, await ReadToCloseAsync(idle2));

        http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        string ping = string.Empty;
        await Wait.Until(
            () =>
            {
                try
                {
                    ping = http.GetStringAsync("/ping").GetAwaiter().GetResult();
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            "the server answering again once the idle connections were closed");
        Assert.Equal("pong", ping);
        http.Dispose();

        var scrape = exporter.Render();
        foreach (var reason in new[] { "malformed", "header", "body", "not_found", "method", "connections", "timeout" })
        {
            Assert.Contains($"edgestream_edge_http_rejected_total{{reason=\"{reason}\"}}", scrape, StringComparison.Ordinal);
        }
    }

    private static async Task<Socket> ConnectAsync(EdgeHttpServer server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.LocalEndPoint);
        return socket;
    }

    /// <summary>
    /// Sends <paramref name="request"/> as is, reads until the server closes or 30 s pass; returns the first status, all text and whether it closed.
    /// Unless <paramref name="whenFull"/>, it first waits for the server to have released the previous raw connection
    /// (the client sees the close before the server has counted it), so that a free slot is a condition, not a race.
    /// </summary>
    private static async Task<(int Status, string Text, bool Closed)> RawAsync(EdgeHttpServer server, string request, bool whenFull = false)
    {
        if (!whenFull)
        {
            await Wait.Until(() => server.OpenConnections < 2, "a free connection slot");
        }

        using var socket = await ConnectAsync(server);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var closed = false;
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    closed = true;
                    break;
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
            closed = true;
        }

        var text = Encoding.ASCII.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 ", text, StringComparison.Ordinal);
        return (int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), text, closed);
    }

    private static async Task<int> ReadToCloseAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[1024];
        var total = 0;
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            if (n == 0)
            {
                return total;
            }

            total += n;
        }
    }

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
