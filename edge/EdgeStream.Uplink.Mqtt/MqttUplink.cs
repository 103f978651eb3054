using System.Security.Cryptography.X509Certificates;
using System.Text;
using EdgeStream.Contracts;
using EdgeStream.Outbox;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace EdgeStream.Uplink.Mqtt;

using Outbox = EdgeStream.Outbox.Outbox;

/// <summary>
/// Drains the outbox to an MQTT broker: QoS 1 on a persistent session, a batch released only after
/// its PUBACK, reconnects through a Polly pipeline (jittered exponential backoff, circuit breaker,
/// timeout). After an outage, the backlog is replayed in sequence order on one lane while batches
/// sealed since the reconnect go out on a second lane, alternately, so live data is never queued
/// behind days of backlog; presence events go before raw reads.
/// </summary>
public sealed class MqttUplink
{
    private readonly UplinkOptions _options;
    private readonly Outbox _outbox;
    private readonly ILogger _logger;
    private readonly OutboxMetrics? _metrics;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _connectPipeline;
    private readonly BandwidthLimiter? _bandwidth;
    private readonly string _statusTopic;
    private readonly long? _holdbackUs;
    private readonly string _readsTopic;
    private readonly string _eventsTopic;
    private volatile bool _connected;
    private long _reconnects;
    private long _published;

    /// <summary>Creates the uplink; <see cref="RunAsync"/> starts it.</summary>
    /// <exception cref="OptionsException">An option is out of range.</exception>
    /// <param name="options">The uplink's settings.</param>
    /// <param name="outbox">What it sends.</param>
    /// <param name="logger">Its log.</param>
    /// <param name="metrics">The outbox's instruments.</param>
    /// <param name="time">The clock.</param>
    /// <param name="holdbackUs">
    /// How far behind its clock the gateway may still hand an event to the outbox (windowing's delay, the
    /// outbox's commit interval, readers' report latency); with it, a status sent while nothing waits for the
    /// broker carries the gateway's watermark (<see cref="GatewayStatus.WatermarkUs"/>). Null: no watermark.
    /// </param>
    public MqttUplink(UplinkOptions options, Outbox outbox, ILogger logger, OutboxMetrics? metrics = null, TimeProvider? time = null, long? holdbackUs = null)
    {
        options.Validate();
        _holdbackUs = holdbackUs;
        _options = options;
        _outbox = outbox;
        _logger = logger;
        _metrics = metrics;
        _time = time ?? TimeProvider.System;
        _statusTopic = Topics.For(options.GatewayId, TopicKind.Status);
        _readsTopic = Topics.ForBatch(options.GatewayId, DataClass.Reads);
        _eventsTopic = Topics.ForBatch(options.GatewayId, DataClass.Presence);
        _bandwidth = options.BandwidthBytesPerSecond is { } bps ? new BandwidthLimiter(bps, _time) : null;
        _connectPipeline = BuildPipeline();
    }

    /// <summary>True while connected to the broker.</summary>
    public bool IsConnected => _connected;

    /// <summary>Connections re-established after a loss.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Batches the broker acknowledged.</summary>
    public long Published => Interlocked.Read(ref _published);

    private ResiliencePipeline BuildPipeline()
    {
        var handle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException || e is TimeoutRejectedException);
        return new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException || e is TimeoutRejectedException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryMinDelay,
                MaxDelay = _options.RetryMaxDelay,
                OnRetry = args =>
                {
                    _logger.LogWarning(
                        "Uplink: connecting to {Broker} failed (attempt {Attempt}: {Error}); next try in {Delay}.",
                        Redacted(_options.Broker), args.AttemptNumber + 1, args.Outcome.Exception?.Message, args.RetryDelay);
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = handle,
                FailureRatio = 1.0,
                MinimumThroughput = _options.BreakerFailures,
                SamplingDuration = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(30).Ticks, _options.RetryMaxDelay.Ticks * _options.BreakerFailures)),
                BreakDuration = _options.BreakDuration,
                OnOpened = args =>
                {
                    _logger.LogWarning("Uplink: {Failures} connects failed in a row; pausing attempts for {Duration}.", _options.BreakerFailures, args.BreakDuration);
                    return default;
                },
                OnClosed = _ =>
                {
                    _logger.LogInformation("Uplink: broker reachable again.");
                    return default;
                },
            })
            .AddTimeout(_options.Timeout)
            .Build();
    }

    /// <summary>Connects, drains and reconnects until cancelled; then says offline and disconnects.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var factory = new MqttClientFactory();
        var everConnected = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            using var client = factory.CreateMqttClient();
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            client.DisconnectedAsync += e =>
            {
                // MQTTnet raises this for every failed connect attempt too; only losing an established
                // connection counts, or the first connection after an outage would be dropped at once.
                if (e.ClientWasConnected)
                {
                    lost.TrySetResult();
                }

                return Task.CompletedTask;
            };

            try
            {
                var clientOptions = BuildClientOptions();
                await _connectPipeline.ExecuteAsync(async ct => await client.ConnectAsync(clientOptions, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            if (everConnected)
            {
                Interlocked.Increment(ref _reconnects);
                _metrics?.Reconnected();
            }

            everConnected = true;
            _logger.LogInformation("Uplink connected to {Broker} as {ClientId}; {Batches} batches waiting.", Redacted(_options.Broker), _options.EffectiveClientId, _outbox.BufferedBatches);
            try
            {
                await PublishStatusAsync(client, online: true, cancellationToken).ConfigureAwait(false);
                using var statusCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var statuses = RepeatStatusAsync(client, statusCts.Token);
                try
                {
                    await PumpAsync(client, lost.Task, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    await statusCts.CancelAsync().ConfigureAwait(false);
                    await statuses.ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await SayGoodbyeAsync(client).ConfigureAwait(false);
                break;
            }
            catch (Exception ex)
            {
                _logger.LogWarning("Uplink: link to the broker lost ({Error}); unacknowledged batches will be sent again after reconnecting.", ex.Message);
            }
            finally
            {
                _connected = false;
            }

            try
            {
                // A broker that accepts and then drops the connection must not be hammered.
                await Task.Delay(_options.RetryMinDelay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }
    }

    private async Task SayGoodbyeAsync(IMqttClient client)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await PublishStatusAsync(client, online: false, cts.Token).ConfigureAwait(false);
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogInformation("Uplink: clean disconnect not possible ({Error}); the broker will publish the will message.", ex.Message);
        }
    }

    private async Task PumpAsync(IMqttClient client, Task lost, CancellationToken cancellationToken)
    {
        using var pumpCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slots = new SemaphoreSlim(_options.MaxInflight, _options.MaxInflight);
        var inflight = new List<Task>();

        // Everything sealed up to now is backlog (replayed in order); anything newer is live.
        var boundary = _outbox.LastSequence;
        var lanes = new Lanes(boundary);
        if (_outbox.BufferedBatches > 0)
        {
            _logger.LogInformation("Uplink: replaying the backlog up to sequence {Boundary} in order; batches sealed from now on go out alongside it.", boundary);
        }

        _connected = true;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (lost.IsCompleted)
                {
                    throw new IOException("Disconnected by the broker or the network.");
                }

                if (failed.Task.IsCompleted)
                {
                    throw new IOException(failed.Task.Result.Message, failed.Task.Result);
                }

                var changed = _outbox.Changed;
                if (!lanes.TryPick(_outbox, out var batch))
                {
                    await Task.WhenAny(changed, lost, failed.Task, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
                    continue;
                }

                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                var payload = _outbox.ReadPayload(batch);
                if (payload is null)
                {
                    slots.Release();
                    continue;
                }

                if (_bandwidth is not null)
                {
                    await _bandwidth.WaitAsync(payload.Length, cancellationToken).ConfigureAwait(false);
                }

                inflight.RemoveAll(t => t.IsCompleted);
                inflight.Add(PublishOneAsync(client, batch, payload, slots, failed, pumpCts.Token));
            }
        }
        finally
        {
            await pumpCts.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(inflight).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Each failure was already reported through 'failed'.
            }
        }
    }

    private async Task PublishOneAsync(IMqttClient client, PendingBatch batch, byte[] payload, SemaphoreSlim slots, TaskCompletionSource<Exception> failed, CancellationToken cancellationToken)
    {
        try
        {
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(batch.Class == DataClass.Presence ? _eventsTopic : _readsTopic)
                .WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            MqttClientPublishResult result;
            try
            {
                result = await client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No PUBACK for batch {batch.Sequence} within {_options.Timeout}: the link is stalled.");
            }

            // "No matching subscribers" is still the broker taking responsibility for the message.
            if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
            {
                throw new IOException($"The broker refused batch {batch.Sequence}: {result.ReasonCode} {result.ReasonString}");
            }

            _outbox.Acknowledge(batch.Class, batch.Sequence);
            Interlocked.Increment(ref _published);
        }
        catch (Exception ex)
        {
            failed.TrySetResult(ex);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Repeats the online status every <see cref="UplinkOptions.StatusInterval"/> while connected; a failed publish waits for the next round (the pump sees the lost link).</summary>
    private async Task RepeatStatusAsync(IMqttClient client, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.StatusInterval, _time, cancellationToken).ConfigureAwait(false);
                await PublishStatusAsync(client, online: true, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogDebug("Uplink: status not sent ({Error}); trying again in {Interval}.", ex.Message, _options.StatusInterval);
            }
        }
    }

    private Task PublishStatusAsync(IMqttClient client, bool online, CancellationToken cancellationToken) =>
        client.PublishAsync(
            new MqttApplicationMessageBuilder()
                .WithTopic(_statusTopic)
                .WithPayload(StatusPayload(online))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainFlag(true)
                .Build(),
            cancellationToken);

    private byte[] StatusPayload(bool online)
    {
        var now = EventTimes.NowUs(_time);

        // A watermark only when every batch the outbox made has been acknowledged: then each event older
        // than now less the holdback has reached the cloud, and none is still on its way.
        var watermark = online && _holdbackUs is { } holdback && _outbox.BufferedBatches == 0 ? now - holdback : 0;
        return new GatewayStatus
        {
            GatewayId = _options.GatewayId,
            Online = online,
            TimeUs = now,
            BufferReads = _outbox.BufferedReads,
            BufferBytes = _outbox.BufferBytes,
            WatermarkUs = watermark,
        }.ToJson();
    }

    private MqttClientOptions BuildClientOptions()
    {
        var port = _options.Broker.IsDefaultPort || _options.Broker.Port <= 0 ? (_options.UseTls ? 8883 : 1883) : _options.Broker.Port;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Broker.Host, port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(_options.EffectiveClientId)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.Timeout)
            .WithWillTopic(_statusTopic)
            .WithWillPayload(new GatewayStatus { GatewayId = _options.GatewayId, Online = false }.ToJson())
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillRetain(true);

        var (user, pass) = Credentials();
        if (user is not null)
        {
            builder.WithCredentials(user, pass ?? string.Empty);
        }

        if (_options.UseTls)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(_options.Broker.Host);
                if (_options.CaFile is not null)
                {
                    var roots = new X509Certificate2Collection();
                    roots.ImportFromPemFile(_options.CaFile);
                    tls.WithTrustChain(roots);
                }

                if (_options.ClientCertFile is not null && _options.ClientKeyFile is not null)
                {
                    using var pem = X509Certificate2.CreateFromPemFile(_options.ClientCertFile, _options.ClientKeyFile);

                    // SslStream on Linux needs the key in a PKCS#12-backed certificate.
                    var cert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                    tls.WithClientCertificates(new X509Certificate2Collection(cert));
                }
            });
        }

        return builder.Build();
    }

    private (string? User, string? Password) Credentials()
    {
        string? user = null, pass = null;
        var info = _options.Broker.UserInfo;
        if (!string.IsNullOrEmpty(info))
        {
            var colon = info.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? info : info[..colon]);
            pass = colon < 0 ? null : Uri.UnescapeDataString(info[(colon + 1)..]);
        }

        return (_options.Username ?? user, _options.Password ?? pass);
    }

    /// <summary>The broker address without its password, for logs.</summary>
    public static string Redacted(Uri broker) =>
        string.IsNullOrEmpty(broker.UserInfo) ? broker.ToString() : broker.ToString().Replace(broker.UserInfo + "@", broker.UserInfo.Split(':')[0] + ":***@", StringComparison.Ordinal);

    /// <summary>
    /// The send order: presence before reads; within a class a backlog lane (sealed before the
    /// connection, oldest first) and a live lane (sealed after), alternating while both have data.
    /// </summary>
    private sealed class Lanes
    {
        private readonly ulong _boundary;
        private ulong _presenceBacklog;
        private ulong _presenceLive;
        private ulong _readsBacklog;
        private ulong _readsLive;
        private bool _liveTurn = true;

        public Lanes(ulong boundary)
        {
            _boundary = boundary;
            _presenceLive = boundary;
            _readsLive = boundary;
        }

        public bool TryPick(Outbox outbox, out PendingBatch batch)
        {
            if (Pick(outbox, DataClass.Presence, ref _presenceBacklog, ref _presenceLive, out batch))
            {
                return true;
            }

            return Pick(outbox, DataClass.Reads, ref _readsBacklog, ref _readsLive, out batch);
        }

        private bool Pick(Outbox outbox, DataClass c, ref ulong backlogCursor, ref ulong liveCursor, out PendingBatch batch)
        {
            var haveBacklog = outbox.TryGetNext(c, backlogCursor, _boundary, out var old);
            var haveLive = outbox.TryGetNext(c, liveCursor, ulong.MaxValue, out var live);
            if (haveLive && (!haveBacklog || _liveTurn))
            {
                liveCursor = live.Sequence;
                batch = live;
                _liveTurn = !haveBacklog || !_liveTurn;
                return true;
            }

            if (haveBacklog)
            {
                backlogCursor = old.Sequence;
                batch = old;
                _liveTurn = true;
                return true;
            }

            batch = default;
            return false;
        }
    }
}
