using EdgeStream.Contracts;
using EdgeStream.Gateways;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeStream.Ingest;

/// <summary>
/// The embedded MQTTnet broker's rules for gateways, and its hook into the ingest pipeline:
/// <list type="bullet">
/// <item>connect: the client id is a configured gateway id, proven by its password (user name = gateway id)
/// or by its client certificate's thumbprint;</item>
/// <item>publish: only under <c>edgestream/v1/gw/{own id}/</c> (reads, events, status, config/applied);</item>
/// <item>subscribe: only to its own config topic;</item>
/// <item>every refusal is counted (<c>edgestream_cloud_broker_refusals_total{kind}</c>) and logged.</item>
/// </list>
/// With a pipeline attached, each accepted publish is awaited through <see cref="IngestPipeline.HandleAsync"/>
/// before the broker sends PUBACK; if the log fails the connection is closed without PUBACK, so the
/// gateway keeps the batch and sends it again.
/// </summary>
public sealed partial class IngestBrokerPolicy
{
    /// <summary>Session item under which an authenticated connection keeps its gateway id.</summary>
    public const string GatewaySessionKey = "edgestream.gateway";

    private const string GatewayKey = GatewaySessionKey;
    private readonly GatewayCredentialStore _credentials;
    private readonly IngestMetrics _metrics;
    private readonly ILogger _logger;

    /// <summary>Creates the policy.</summary>
    public IngestBrokerPolicy(GatewayCredentialStore credentials, IngestMetrics metrics, ILogger<IngestBrokerPolicy>? logger = null)
    {
        _credentials = credentials;
        _metrics = metrics;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Forward accepted batches to the broker's subscribers too (default: no, they go to the log only).</summary>
    public bool ForwardBatches { get; init; }

    /// <summary>
    /// Installs the policy on <paramref name="server"/> (before <c>StartAsync</c>); with <paramref name="pipeline"/>,
    /// gateway traffic is ingested with the PUBACK after the durable append.
    /// </summary>
    public void Attach(MqttServer server, IngestPipeline? pipeline = null)
    {
        server.ValidatingConnectionAsync += ValidateConnection;
        server.InterceptingSubscriptionAsync += InterceptSubscription;
        server.InterceptingPublishAsync += args => InterceptPublish(args, pipeline);
    }

    private Task ValidateConnection(ValidatingConnectionEventArgs args)
    {
        var id = args.ClientId;
        string? refusal = null;
        if (string.IsNullOrEmpty(id) || !Topics.IsValidGatewayId(id) || !_credentials.IsKnown(id))
        {
            refusal = "unknown gateway";
        }
        else if (_credentials.VerifyCertificate(id, args.ClientCertificate))
        {
            // Proven by the TLS client certificate.
        }
        else if (args.UserName != id)
        {
            refusal = "user name differs from client id";
        }
        else if (!_credentials.VerifyPassword(id, args.Password))
        {
            refusal = "bad password";
        }

        if (refusal is not null)
        {
            args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            _metrics.Refused("connect");
            LogConnectRefused(_logger, id ?? string.Empty, args.RemoteEndPoint?.ToString() ?? "?", refusal);
            return Task.CompletedTask;
        }

        args.SessionItems[GatewayKey] = id;
        return Task.CompletedTask;
    }

    private Task InterceptSubscription(InterceptingSubscriptionEventArgs args)
    {
        var gateway = args.SessionItems[GatewayKey] as string;
        if (gateway is null && string.IsNullOrEmpty(args.ClientId))
        {
            return Task.CompletedTask;
        }

        if (gateway is null || args.TopicFilter.Topic != Topics.For(gateway, TopicKind.Config))
        {
            args.ProcessSubscription = false;
            args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            _metrics.Refused("subscribe");
            LogSubscribeRefused(_logger, gateway ?? args.ClientId ?? string.Empty, args.TopicFilter.Topic);
        }

        return Task.CompletedTask;
    }

    private async Task InterceptPublish(InterceptingPublishEventArgs args, IngestPipeline? pipeline)
    {
        var gateway = args.SessionItems?[GatewayKey] as string;
        if (gateway is null && string.IsNullOrEmpty(args.ClientId))
        {
            // Published by the host itself (configuration pushed to gateways).
            return;
        }

        var topic = args.ApplicationMessage.Topic;
        if (gateway is null || !Topics.TryParse(topic, out var topicGateway, out var kind) || topicGateway != gateway || kind == TopicKind.Config)
        {
            args.ProcessPublish = false;
            args.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            _metrics.Refused("publish");
            LogPublishRefused(_logger, gateway ?? args.ClientId ?? string.Empty, topic);
            return;
        }

        if (pipeline is null)
        {
            return;
        }

        try
        {
            var outcome = await pipeline.HandleAsync(gateway, topic, args.ApplicationMessage.Payload, args.CancellationToken);
            if (outcome != IngestOutcome.NotABatch)
            {
                args.ProcessPublish = ForwardBatches && outcome == IngestOutcome.Appended;
            }
        }
        catch (Exception ex)
        {
            // No PUBACK: the gateway keeps the batch in its outbox and sends it again after reconnecting.
            args.ProcessPublish = false;
            args.CloseConnection = true;
            LogIngestFailed(_logger, ex, gateway, topic);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused connection of '{ClientId}' from {Endpoint}: {Reason}")]
    private static partial void LogConnectRefused(ILogger logger, string clientId, string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused publish of gateway '{GatewayId}' to '{Topic}': not its own topic")]
    private static partial void LogPublishRefused(ILogger logger, string gatewayId, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused subscription of gateway '{GatewayId}' to '{Filter}': only its own config topic is allowed")]
    private static partial void LogSubscribeRefused(ILogger logger, string gatewayId, string filter);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ingest of a message from '{GatewayId}' on '{Topic}' failed; closing the connection without acknowledging it")]
    private static partial void LogIngestFailed(ILogger logger, Exception exception, string gatewayId, string topic);
}
