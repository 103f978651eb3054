using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using EdgeStream.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeStream.Ingest;

/// <summary>
/// Ingest from an external broker: one MQTT client with a persistent session subscribed to every
/// gateway's topics at QoS 1, acknowledging each message only after the pipeline has durably handled
/// it. Messages are handed to the pipeline as they arrive (so concurrent batches share a group commit)
/// and acknowledged strictly in arrival order, as MQTT requires. If the pipeline fails, the connection
/// is dropped without acknowledging, and the broker redelivers from the session on reconnect
/// (dedupe drops what had been appended).
/// </summary>
/// <remarks>
/// The external broker must enforce the per-gateway topic rights itself (Mosquitto:
/// <c>pattern readwrite edgestream/v1/gw/%u/#</c> in its ACL file); ingest still checks that each batch's
/// gateway id matches its topic.
/// </remarks>
public sealed partial class ExternalBrokerIngest : IAsyncDisposable
{
    private readonly ExternalBrokerOptions _options;
    private readonly IngestPipeline _pipeline;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly Channel<InFlight> _inFlight;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _connectionLoop;
    private Task? _ackLoop;
    private int _connection;

    /// <summary>Creates the subscriber; <see cref="StartAsync"/> connects.</summary>
    public ExternalBrokerIngest(ExternalBrokerOptions options, IngestPipeline pipeline, ILogger<ExternalBrokerIngest>? logger = null)
    {
        options.Validate();
        _options = options;
        _pipeline = pipeline;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _client = new MqttClientFactory().CreateMqttClient();
        _inFlight = Channel.CreateBounded<InFlight>(new BoundedChannelOptions(options.MaxInFlight)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _client.ApplicationMessageReceivedAsync += OnMessage;
        _client.DisconnectedAsync += _ =>
        {
            _disconnected.TrySetResult();
            return Task.CompletedTask;
        };
    }

    /// <summary>True while connected and subscribed.</summary>
    public bool IsConnected => _client.IsConnected;

    /// <summary>Messages acknowledged to the broker.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    private long _acknowledged;

    /// <summary>Connects (retrying with backoff until <paramref name="cancellationToken"/>), subscribes, and keeps reconnecting in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ConnectWithRetryAsync(cancellationToken);
        _ackLoop = Task.Run(AckLoop, CancellationToken.None);
        _connectionLoop = Task.Run(ConnectionLoop, CancellationToken.None);
    }

    /// <summary>Disconnects, keeping the session (the broker queues messages until ingest returns).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_connectionLoop is not null)
        {
            await _connectionLoop;
        }

        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build());
        }

        _inFlight.Writer.TryComplete();
        if (_ackLoop is not null)
        {
            await _ackLoop;
        }
    }

    /// <summary>Stops (if running) and releases the client.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _client.Dispose();
        _stop.Dispose();
    }

    private async Task OnMessage(MqttApplicationMessageReceivedEventArgs args)
    {
        args.AutoAcknowledge = false;
        var topic = args.ApplicationMessage.Topic;
        var gateway = Topics.TryParse(topic, out var id, out _) ? id : "unknown";

        // The client reuses its receive buffers once this handler returns; the pipeline may still be
        // working on the payload then.
        var payload = new ReadOnlySequence<byte>(args.ApplicationMessage.Payload.ToArray());
        var handled = _pipeline.HandleAsync(gateway, topic, payload, _stop.Token);

        // Waiting here when the queue is full stops reading from the socket: backpressure to the broker.
        await _inFlight.Writer.WriteAsync(new InFlight(args, handled, Volatile.Read(ref _connection)), CancellationToken.None);
    }

    private async Task AckLoop()
    {
        await foreach (var item in _inFlight.Reader.ReadAllAsync())
        {
            try
            {
                await item.Handled;
            }
            catch (Exception ex)
            {
                if (item.Connection == Volatile.Read(ref _connection))
                {
                    LogIngestFailed(_logger, ex, item.Args.ApplicationMessage.Topic);

                    // Dropping the connection without PUBACK makes the broker redeliver this message and
                    // every later unacknowledged one from the session.
                    Interlocked.Increment(ref _connection);
                    await ForceReconnectAsync();
                }

                continue;
            }

            if (item.Connection != Volatile.Read(ref _connection))
            {
                continue;
            }

            try
            {
                await item.Args.AcknowledgeAsync(CancellationToken.None);
                Interlocked.Increment(ref _acknowledged);
            }
            catch (Exception ex)
            {
                // The connection went away: the broker redelivers, dedupe drops the copy.
                LogAckFailed(_logger, ex, item.Args.ApplicationMessage.Topic);
            }
        }
    }

    private async Task ForceReconnectAsync()
    {
        try
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.UnspecifiedError).Build());
        }
        catch (Exception)
        {
            // Already disconnected.
        }
    }

    private async Task ConnectionLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _disconnected.Task.WaitAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _connection);
            LogDisconnected(_logger, _options.Host, _options.Port);
            try
            {
                await ConnectWithRetryAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ConnectWithRetryAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                _disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await _client.ConnectAsync(ClientOptions(), cancellationToken);
                var result = await _client.SubscribeAsync(
                    new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topics.AllGateways, MqttQualityOfServiceLevel.AtLeastOnce).Build(),
                    cancellationToken);
                var code = result.Items.Single().ResultCode;
                if (code is not (MqttClientSubscribeResultCode.GrantedQoS1 or MqttClientSubscribeResultCode.GrantedQoS2))
                {
                    throw new InvalidOperationException($"The broker refused the subscription to {Topics.AllGateways} at QoS 1: {code}.");
                }

                LogConnected(_logger, _options.Host, _options.Port);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogConnectFailed(_logger, _options.Host, _options.Port, ex.Message, delay);
                if (_client.IsConnected)
                {
                    await ForceReconnectAsync();
                }

                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(delay.TotalMilliseconds / 4) + 1)), cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
            }
        }
    }

    private MqttClientOptions ClientOptions()
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds)
            .WithReceiveMaximum((ushort)_options.MaxInFlight)
            .WithTimeout(TimeSpan.FromSeconds(30));
        if (_options.UserName is not null)
        {
            builder = builder.WithCredentials(_options.UserName, _options.Password);
        }

        if (_options.UseTls)
        {
            builder = builder.WithTlsOptions(o =>
            {
                o.UseTls();
                if (_options.CaCertificatePath is not null)
                {
                    var chain = new X509Certificate2Collection();
                    chain.ImportFromPemFile(_options.CaCertificatePath);
                    o.WithTrustChain(chain);
                }
            });
        }

        return builder.Build();
    }

    private sealed record InFlight(MqttApplicationMessageReceivedEventArgs Args, Task<IngestOutcome> Handled, int Connection);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingest connected to broker {Host}:{Port} and subscribed to every gateway")]
    private static partial void LogConnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingest lost broker {Host}:{Port}; reconnecting")]
    private static partial void LogDisconnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingest could not connect to broker {Host}:{Port}: {Error}; retrying in {Delay}")]
    private static partial void LogConnectFailed(ILogger logger, string host, int port, string error, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ingest of a message on '{Topic}' failed; reconnecting without acknowledging so the broker redelivers it")]
    private static partial void LogIngestFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Acknowledging a message on '{Topic}' failed; the broker will redeliver it")]
    private static partial void LogAckFailed(ILogger logger, Exception exception, string topic);
}
