using System.Buffers;
using System.Globalization;
using System.Text;

namespace EdgeStream.Edge.Http;

/// <summary>Answers one request. Runs on the connection's task; the token ends with the request's deadline or the server's stop.</summary>
public delegate ValueTask<HttpResponse> HttpHandler(HttpRequest request, CancellationToken cancellationToken);

/// <summary>A request as handlers see it: method, path without the query, and the whole body (bounded by <see cref="HttpServerLimits.MaxBodyBytes"/>).</summary>
public sealed record HttpRequest(string Method, string Path, ReadOnlyMemory<byte> Body);

/// <summary>A complete response: status, content type and body.</summary>
public sealed record HttpResponse(int Status, string ContentType, ReadOnlyMemory<byte> Body)
{
    /// <summary>UTF-8 text with <paramref name="contentType"/>.</summary>
    public static HttpResponse Text(int status, string text, string contentType) => new(status, contentType, Encoding.UTF8.GetBytes(text));

    /// <summary>An <c>application/json</c> body already serialized.</summary>
    public static HttpResponse Json(int status, ReadOnlyMemory<byte> json) => new(status, "application/json; charset=utf-8", json);

    /// <summary><c>{"error":"…"}</c> with <paramref name="status"/>, the shape every refusal of the edge's HTTP endpoints has.</summary>
    public static HttpResponse Error(int status, string message)
    {
        var json = new ArrayBufferWriter<byte>(64 + message.Length);
        using (var w = new System.Text.Json.Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        }

        return Json(status, json.WrittenMemory);
    }
}

/// <summary>
/// Bounds of <see cref="EdgeHttpServer"/>: what one client can make the daemon hold. Defaults fit the
/// edge's three endpoints (a scrape, a health probe, a handheld's batch of scans).
/// </summary>
public sealed record HttpServerLimits
{
    /// <summary>Connections served at once; one more is answered 503 and closed.</summary>
    public int MaxConnections { get; init; } = 16;

    /// <summary>Request line and headers, in bytes; more is answered 431.</summary>
    public int MaxHeaderBytes { get; init; } = 16 * 1024;

    /// <summary>Request body, in bytes; more is answered 413 before it is read.</summary>
    public int MaxBodyBytes { get; init; } = 256 * 1024;

    /// <summary>Time for one request to arrive whole and be answered, and for an idle keep-alive connection to send its next.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks every bound.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A bound is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHeaderBytes, 256, nameof(MaxHeaderBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBodyBytes, 0, nameof(MaxBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(RequestTimeout, TimeSpan.FromMilliseconds(100), nameof(RequestTimeout));
    }
}

/// <summary>The parsed request line and the headers the server acts on. Pure: parses a header block, touches no socket.</summary>
public readonly record struct RequestHead(string Method, string Path, long ContentLength, bool Chunked, bool KeepAlive, bool ExpectContinue)
{
    /// <summary>
    /// Parses a header block (request line and header lines, without the blank line that ends it).
    /// False with a message for the 400 answer when it is not HTTP/1.x.
    /// </summary>
    public static bool TryParse(ReadOnlySequence<byte> block, out RequestHead head, out string error)
    {
        head = default;
        var text = Encoding.Latin1.GetString(block);
        var lines = text.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3)
        {
            error = "the request line is not 'METHOD /path HTTP/1.1'";
            return false;
        }

        var (method, target, version) = (requestLine[0], requestLine[1], requestLine[2]);
        if (method.Length == 0 || !method.All(char.IsAsciiLetterUpper))
        {
            error = $"'{Printable(method)}' is not an HTTP method";
            return false;
        }

        if (!target.StartsWith('/'))
        {
            error = $"'{Printable(target)}' is not an origin-form request target (it must start with '/')";
            return false;
        }

        if (version is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            error = $"'{Printable(version)}' is not supported (HTTP/1.0 or HTTP/1.1)";
            return false;
        }

        var keepAlive = version == "HTTP/1.1";
        long contentLength = 0;
        var sawLength = false;
        var chunked = false;
        var expectContinue = false;
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line.AsSpan(0, colon).ContainsAny(' ', '\t'))
            {
                error = $"header line {i} is not 'Name: value'";
                return false;
            }

            var name = line.AsSpan(0, colon);
            var value = line.AsSpan(colon + 1).Trim(" \t");
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || (sawLength && n != contentLength))
                {
                    error = $"Content-Length '{Printable(value.ToString())}' is not one non-negative integer";
                    return false;
                }

                (contentLength, sawLength) = (n, true);
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                // Only chunked is meaningful in a request (RFC 9112 §6.1); anything else cannot be framed.
                if (!value.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    error = $"Transfer-Encoding '{Printable(value.ToString())}' is not supported (chunked only)";
                    return false;
                }

                chunked = true;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Contains("close", StringComparison.OrdinalIgnoreCase))
                {
                    keepAlive = false;
                }
                else if (value.Contains("keep-alive", StringComparison.OrdinalIgnoreCase))
                {
                    keepAlive = true;
                }
            }
            else if (name.Equals("Expect", StringComparison.OrdinalIgnoreCase))
            {
                expectContinue = value.Equals("100-continue", StringComparison.OrdinalIgnoreCase);
            }
        }

        if (chunked && sawLength)
        {
            error = "a request has Content-Length or Transfer-Encoding, not both";
            return false;
        }

        var query = target.IndexOf('?', StringComparison.Ordinal);
        head = new RequestHead(method, query < 0 ? target : target[..query], contentLength, chunked, keepAlive, expectContinue);
        error = string.Empty;
        return true;
    }

    private static string Printable(string s)
    {
        var cut = s.Length > 40 ? s[..40] + "…" : s;
        return string.Concat(cut.Select(c => char.IsControl(c) ? '?' : c));
    }
}
