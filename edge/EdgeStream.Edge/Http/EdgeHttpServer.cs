using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EdgeStream.Edge.Http;

/// <summary>
/// The daemon's small HTTP/1.1 server for <c>/healthz</c>, <c>/metrics</c> and <c>POST /api/scans</c>
/// on the address given by <c>--http</c>, which the configuration accepts only on loopback (the endpoints carry
/// no authentication). It replaces ASP.NET Core's Kestrel, which cost the gateway ~8 MB of resident
/// memory (mapped framework, JIT'd code, threads) for three endpoints. Strictly bounded: a fixed
/// number of connections, a header block and a body of at most a few hundred KB, a deadline per request;
/// anything else is answered with a 4xx/5xx naming the problem, counted, and the connection closed.
/// Supports keep-alive, <c>Content-Length</c> and chunked request bodies and <c>Expect: 100-continue</c>;
/// not TLS or HTTP/2: handhelds on the LAN reach it through a TLS proxy on the gateway.
/// </summary>
public sealed partial class EdgeHttpServer : IAsyncDisposable
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] Continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly Socket _listener;
    private readonly HttpServerLimits _limits;

    // Refusal messages, the same for every request.
    private readonly string _headerTooLarge;
    private readonly string _bodyTooLarge;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Dictionary<string, HttpHandler>> _routes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stop = new();
    private readonly Counter<long>? _rejected;
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _connections = [];
    private Task? _acceptLoop;

    private EdgeHttpServer(Socket listener, HttpServerLimits limits, ILogger logger, Meter? meter)
    {
        _listener = listener;
        _limits = limits;
        _logger = logger;
        _headerTooLarge = $"the request header is larger than {limits.MaxHeaderBytes} bytes";
        _bodyTooLarge = $"body is larger than {limits.MaxBodyBytes} bytes";
        _slots = new SemaphoreSlim(limits.MaxConnections, limits.MaxConnections);
        _rejected = meter?.CreateCounter<long>("edgestream_edge_http_rejected_total", description: "HTTP requests refused by the local server before a handler ran, by reason.");
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        meter?.CreateObservableGauge("edgestream_edge_http_connections", () => OpenConnections, description: "Connections the local HTTP server is serving.");
    }

    /// <summary>Connections being served (each holds one of <see cref="HttpServerLimits.MaxConnections"/> slots).</summary>
    public int OpenConnections => _limits.MaxConnections - _slots.CurrentCount;

    /// <summary>The bound address (with the port the system picked when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary><c>http://address:port</c> of <see cref="LocalEndPoint"/>.</summary>
    public Uri BaseAddress => new($"http://{LocalEndPoint}");

    /// <summary>Binds <paramref name="endpoint"/> now, so a taken port fails start-up; call <see cref="Start"/> to serve.</summary>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static EdgeHttpServer Bind(IPEndPoint endpoint, ILogger logger, HttpServerLimits? limits = null, Meter? meter = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        limits ??= new HttpServerLimits();
        limits.Validate();
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endpoint);
            socket.Listen(limits.MaxConnections);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new EdgeHttpServer(socket, limits, logger, meter);
    }

    /// <summary>Routes <paramref name="method"/> requests for exactly <paramref name="path"/> (query ignored) to <paramref name="handler"/>.</summary>
    public void Map(string method, string path, HttpHandler handler)
    {
        if (_acceptLoop is not null)
        {
            throw new InvalidOperationException("Routes are mapped before the server starts.");
        }

        if (!_routes.TryGetValue(path, out var byMethod))
        {
            _routes[path] = byMethod = new Dictionary<string, HttpHandler>(StringComparer.Ordinal);
        }

        byMethod[method] = handler;
    }

    /// <summary>Starts accepting connections.</summary>
    public void Start() => _acceptLoop ??= AcceptLoopAsync();

    /// <summary>Stops accepting, ends open connections and waits for their handlers.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        Task[] open;
        lock (_gate)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open).ConfigureAwait(false);
        _stop.Dispose();
        _slots.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || (ex is SocketException && _stop.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors and the like: say so, keep serving the connections that come later.
                LogAcceptFailed(_logger, ex.SocketErrorCode);
                continue;
            }

            client.NoDelay = true;
            if (!_slots.Wait(0))
            {
                Reject("connections");
                LogTooManyConnections(_logger, _limits.MaxConnections);
                Track(RefuseAsync(client));
                continue;
            }

            Track(ServeAsync(client));
        }
    }

    private void Track(Task connection)
    {
        lock (_gate)
        {
            _connections.Add(connection);
        }

        connection.ContinueWith(
            t =>
            {
                lock (_gate)
                {
                    _connections.Remove(t);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task RefuseAsync(Socket client)
    {
        using (client)
        await using (var stream = new NetworkStream(client, ownsSocket: false))
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            deadline.CancelAfter(_limits.RequestTimeout);
            try
            {
                await WriteAsync(stream, HttpResponse.Error(503, $"more than {_limits.MaxConnections} connections are open"), keepAlive: false, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
            {
                // The client went away first; nothing to answer.
            }
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: true);
            var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, leaveOpen: true));
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    deadline.CancelAfter(_limits.RequestTimeout);
                    if (!await ServeOneAsync(input, stream, deadline.Token).ConfigureAwait(false))
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                // An idle keep-alive connection or a client too slow to send its request: close it.
                Reject("timeout");
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                // The client closed or reset the connection.
            }
            catch (Exception ex)
            {
                // Whatever went wrong ends this connection only, never the server or the daemon.
                LogConnectionFailed(_logger, ex);
            }
            finally
            {
                await input.CompleteAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>Reads, dispatches and answers one request. False when the connection is to be closed.</summary>
    private async Task<bool> ServeOneAsync(PipeReader input, NetworkStream output, CancellationToken cancellationToken)
    {
        // The header block, up to the blank line.
        RequestHead head;
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> block, HeaderEnd, advancePastDelimiter: true))
            {
                if (block.Length > _limits.MaxHeaderBytes)
                {
                    input.AdvanceTo(buffer.End);
                    return await RefuseRequestAsync(output, 431, "header", _headerTooLarge, cancellationToken).ConfigureAwait(false);
                }

                var parsed = RequestHead.TryParse(block, out head, out var error);
                input.AdvanceTo(reader.Position);
                if (!parsed)
                {
                    return await RefuseRequestAsync(output, 400, "malformed", error, cancellationToken).ConfigureAwait(false);
                }

                break;
            }

            if (buffer.Length > _limits.MaxHeaderBytes)
            {
                input.AdvanceTo(buffer.End);
                return await RefuseRequestAsync(output, 431, "header", _headerTooLarge, cancellationToken).ConfigureAwait(false);
            }

            if (read.IsCompleted)
            {
                // Closed between requests (normal for keep-alive) or mid-header (nothing to answer to).
                input.AdvanceTo(buffer.End);
                return false;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }

        if (head.ContentLength > _limits.MaxBodyBytes)
        {
            await RefuseRequestAsync(output, 413, "body", _bodyTooLarge, cancellationToken).ConfigureAwait(false);

            // Read what the client is already sending (up to a bound) before closing: closing a socket with
            // unread data resets it, and the client would see a reset instead of the 413.
            await DiscardAsync(input, Math.Min(head.ContentLength, Math.Max(4L * _limits.MaxBodyBytes, 1L << 20)), cancellationToken).ConfigureAwait(false);
            return false;
        }

        if (head.ExpectContinue && (head.ContentLength > 0 || head.Chunked))
        {
            await output.WriteAsync(Continue, cancellationToken).ConfigureAwait(false);
        }

        byte[] body;
        if (head.Chunked)
        {
            if (await ReadChunkedAsync(input, output, cancellationToken).ConfigureAwait(false) is not { } chunked)
            {
                return false;
            }

            body = chunked;
        }
        else
        {
            var fixedBody = head.ContentLength == 0 ? [] : new byte[head.ContentLength];
            var filled = 0;
            if (!await ConsumeAsync(input, fixedBody.Length, piece => { piece.CopyTo(fixedBody.AsSpan(filled)); filled += (int)piece.Length; }, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            body = fixedBody;
        }

        var response = await DispatchAsync(new HttpRequest(head.Method, head.Path, body), cancellationToken).ConfigureAwait(false);
        await WriteAsync(output, response, head.KeepAlive, cancellationToken).ConfigureAwait(false);
        return head.KeepAlive;
    }

    /// <summary>
    /// Reads a chunked body (RFC 9112 §7.1) whole, within <see cref="HttpServerLimits.MaxBodyBytes"/>; chunk
    /// extensions and trailers are read and ignored. Null when the request ends here: refused (answered on
    /// <paramref name="output"/>) or the client closed mid-body.
    /// </summary>
    private async Task<byte[]?> ReadChunkedAsync(PipeReader input, NetworkStream output, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var line = await ReadLineAsync(input, cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                return null;
            }

            var size = line.AsSpan();
            var extension = size.IndexOf(';');
            if (extension >= 0)
            {
                size = size[..extension];
            }

            if (!long.TryParse(size.Trim(" \t"), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var length) || length < 0)
            {
                await RefuseRequestAsync(output, 400, "malformed", "a chunk size is not a hexadecimal number", cancellationToken).ConfigureAwait(false);
                return null;
            }

            if (length == 0)
            {
                // Trailer lines up to the empty line that ends the body.
                while (true)
                {
                    var trailer = await ReadLineAsync(input, cancellationToken).ConfigureAwait(false);
                    if (trailer is null)
                    {
                        return null;
                    }

                    if (trailer.Length == 0)
                    {
                        return body.WrittenSpan.ToArray();
                    }
                }
            }

            if (body.WrittenCount + length > _limits.MaxBodyBytes)
            {
                await RefuseRequestAsync(output, 413, "body", _bodyTooLarge, cancellationToken).ConfigureAwait(false);
                return null;
            }

            // The chunk's data, then the CRLF that ends it.
            if (!await ConsumeAsync(input, length, piece => { foreach (var segment in piece) { body.Write(segment.Span); } }, cancellationToken).ConfigureAwait(false)
                || !await ConsumeAsync(input, 2, null, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    /// <summary>One CRLF-terminated line of at most 1 KB (chunk sizes, trailers); null when the client closed.</summary>
    private static async Task<string?> ReadLineAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var reader = new SequenceReader<byte>(read.Buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: true) && line.Length <= 1024)
            {
                var text = Encoding.Latin1.GetString(line);
                input.AdvanceTo(reader.Position);
                return text;
            }

            if (read.Buffer.Length > 1024 || read.IsCompleted)
            {
                input.AdvanceTo(read.Buffer.End);
                return null;
            }

            input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private async ValueTask<HttpResponse> DispatchAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!_routes.TryGetValue(request.Path, out var byMethod))
        {
            Reject("not_found");
            return HttpResponse.Error(404, $"no resource at {request.Path}");
        }

        if (!byMethod.TryGetValue(request.Method, out var handler))
        {
            Reject("method");
            return HttpResponse.Error(405, $"{request.Path} answers {string.Join(", ", byMethod.Keys.Order(StringComparer.Ordinal))}, not {request.Method}");
        }

        try
        {
            return await handler(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogHandlerFailed(_logger, request.Method, request.Path, ex);
            return HttpResponse.Error(500, $"{request.Method} {request.Path} failed: {ex.Message}");
        }
    }

    private async Task<bool> RefuseRequestAsync(NetworkStream output, int status, string reason, string message, CancellationToken cancellationToken)
    {
        Reject(reason);
        LogRefused(_logger, status, message);
        await WriteAsync(output, HttpResponse.Error(status, message), keepAlive: false, cancellationToken).ConfigureAwait(false);
        return false;
    }

    private static async Task DiscardAsync(PipeReader input, long bytes, CancellationToken cancellationToken)
    {
        try
        {
            await ConsumeAsync(input, bytes, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // The client stopped sending after reading the refusal.
        }
    }

    /// <summary>
    /// Takes the next <paramref name="count"/> bytes of the request, handing each piece to <paramref name="copy"/>
    /// (null: discarded); false when the client closed the connection first.
    /// </summary>
    private static async Task<bool> ConsumeAsync(PipeReader input, long count, Action<ReadOnlySequence<byte>>? copy, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var take = read.Buffer.Slice(0, Math.Min(read.Buffer.Length, count));
            copy?.Invoke(take);
            count -= take.Length;
            input.AdvanceTo(take.End);
            if (count > 0 && read.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    private static async Task WriteAsync(Stream output, HttpResponse response, bool keepAlive, CancellationToken cancellationToken)
    {
        var head = string.Create(
            CultureInfo.InvariantCulture,
            $"HTTP/1.1 {response.Status} {ReasonPhrase(response.Status)}\r\nContent-Type: {response.ContentType}\r\nContent-Length: {response.Body.Length}\r\nConnection: {(keepAlive ? "keep-alive" : "close")}\r\n\r\n");
        await output.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken).ConfigureAwait(false);
        if (!response.Body.IsEmpty)
        {
            await output.WriteAsync(response.Body, cancellationToken).ConfigureAwait(false);
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Reject(string reason) => _rejected?.Add(1, new KeyValuePair<string, object?>("reason", reason));

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP: accepting a connection failed ({Error}).")]
    private static partial void LogAcceptFailed(ILogger logger, SocketError error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP: refused a connection, {Max} are already open.")]
    private static partial void LogTooManyConnections(ILogger logger, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP: refused a request with {Status}: {Reason}.")]
    private static partial void LogRefused(ILogger logger, int status, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "HTTP: a connection failed and was closed.")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "HTTP: {Method} {Path} failed.")]
    private static partial void LogHandlerFailed(ILogger logger, string method, string path, Exception exception);
}
