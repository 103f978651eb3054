using System.IO.Pipelines;
using System.Net.Sockets;
using EdgeStream.Contracts;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers.Llrp;

/// <summary>
/// An LLRP 1.0.1 client for one reader (Impinj, Zebra, …) over TCP. Each connection runs the whole
/// sequence — wait for the reader's ConnectionAttemptEvent, read capabilities, reset and configure,
/// replace the ROSpec, enable and start it — then streams RO_ACCESS_REPORTs into the sink, answers
/// keepalives and surfaces reader events. Silence past the keepalive deadline, a broken stream or a
/// refused step drops the connection and the driver reconnects with backoff, configuring again.
/// </summary>
public sealed partial class LlrpReaderDriver : ReaderDriverBase
{
    /// <summary>The ROSpec id the driver owns on the reader.</summary>
    public const uint ROSpecId = 1;

    private readonly string _host;
    private readonly int _port;
    private readonly LlrpWriter _writer = new(1024);
    private TagRead[] _batch = new TagRead[64];
    private uint _nextMessageId = 1;

    /// <summary>Creates a driver; nothing connects until <see cref="RunAsync"/>.</summary>
    public LlrpReaderDriver(string host, int port, string readerId, ReaderSettings settings, ILogger<LlrpReaderDriver> logger)
        : base(readerId, settings, logger)
    {
        _host = host;
        _port = port;
    }

    /// <summary>The capabilities the reader reported on the last connection.</summary>
    public ReaderCapabilities? Capabilities { get; private set; }

    private protected override async Task SessionAsync(IReadSink sink, SessionState state, CancellationToken cancellationToken)
    {
        using var client = new TcpClient { NoDelay = true };
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connectTimeout.CancelAfter(Settings.ConnectTimeout);
            try
            {
                await client.ConnectAsync(_host, _port, connectTimeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ReaderLinkException($"Cannot reach LLRP reader {_host}:{_port}: no answer within {Settings.ConnectTimeout.TotalSeconds:0.#} s.");
            }
            catch (SocketException ex)
            {
                throw new ReaderLinkException($"Cannot reach LLRP reader {_host}:{_port}: {ex.Message}", ex);
            }
        }

        var stream = client.GetStream();
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        var link = new Link(stream, new LlrpFramer(reader), sink);
        try
        {
            await ConfigureAsync(link, cancellationToken);
            Logger.LogInformation("Reader {Reader}: connected to {Host}:{Port} and configured.", ReaderId, _host, _port);
            state.ReportConnected($"Connected to LLRP reader {_host}:{_port}.");

            var deadline = Settings.DeadLinkDeadline;
            while (true)
            {
                using var message = await ReadAsync(link, deadline, "keepalive deadline", cancellationToken);
                await DispatchAsync(link, message, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CloseAsync(link);
            throw;
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private async Task CloseAsync(Link link)
    {
        // Polite shutdown: the reader stops the ROSpec and frees the connection slot at once
        // instead of waiting for its own timeout, so the next client (or our restart) is not refused.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            var id = NextId();
            await SendAsync(link, w => LlrpEncoder.Empty(w, LlrpMessageType.CloseConnection, id), timeout.Token);
            while (await link.Framer.ReadAsync(timeout.Token) is { } m)
            {
                using (m)
                {
                    if (m.Header.Type == LlrpMessageType.CloseConnectionResponse)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or LlrpFormatException or SocketException or ObjectDisposedException)
        {
            Logger.LogDebug("Reader {Reader}: close was not acknowledged ({Message}).", ReaderId, ex.Message);
        }
    }

    private async ValueTask<LlrpMessage> ReadAsync(Link link, TimeSpan deadline, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        LlrpMessage? message;
        try
        {
            message = await link.Framer.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ReaderLinkException($"LLRP reader {_host}:{_port} sent nothing for {deadline.TotalSeconds:0.###} s ({what}): link declared dead.");
        }
        catch (LlrpFormatException ex)
        {
            RaiseRejected(link.Sink, ex.Message);
            throw new ReaderLinkException($"LLRP stream from {_host}:{_port} is not valid LLRP, reconnecting: {ex.Message}", ex);
        }

        return message ?? throw new ReaderLinkException($"LLRP reader {_host}:{_port} closed the connection.");
    }

    private async ValueTask SendAsync(Link link, Action<LlrpWriter> build, CancellationToken cancellationToken)
    {
        _writer.Reset();
        build(_writer);
        await link.Stream.WriteAsync(_writer.WrittenMemory, cancellationToken);
    }

    private uint NextId() => _nextMessageId++;

    private sealed record Link(NetworkStream Stream, LlrpFramer Framer, IReadSink Sink);
}
