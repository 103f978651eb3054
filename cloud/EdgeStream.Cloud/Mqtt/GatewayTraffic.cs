using System.Buffers;
using System.Diagnostics.Metrics;
using EdgeStream.Gateways;
using EdgeStream.Contracts;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Cloud.Mqtt;

/// <summary>
/// What the cloud takes from gateway MQTT traffic besides the batches (which ingest appends to the
/// event log): liveness from every message of an authenticated gateway, and its status record.
/// A bad status record is refused with a counted reason and a log line, never an exception.
/// </summary>
public sealed partial class GatewayTraffic
{
    /// <summary>Meter name of the cloud host's own instruments.</summary>
    public const string MeterName = "EdgeStream.Cloud";

    private readonly GatewayDirectory _gateways;
    private readonly ILogger<GatewayTraffic> _log;
    private readonly Counter<long> _rejected;

    /// <summary>Creates the handler.</summary>
    public GatewayTraffic(GatewayDirectory gateways, IMeterFactory meters, ILogger<GatewayTraffic> log)
    {
        _gateways = gateways;
        _log = log;
        var meter = meters.Create(MeterName);
        _rejected = meter.CreateCounter<long>("edgestream_cloud_status_rejected_total", description: "Gateway status messages refused, by reason.");
    }

    /// <summary>Handles a message that gateway <paramref name="gatewayId"/> (authenticated) published on its own <paramref name="topic"/>.</summary>
    public void Handle(string gatewayId, string topic, in ReadOnlySequence<byte> payload)
    {
        if (!Topics.TryParse(topic, out var topicGateway, out var kind) || topicGateway != gatewayId)
        {
            return; // the broker policy refuses these
        }

        _gateways.OnTraffic(gatewayId);
        if (kind != TopicKind.Status)
        {
            return;
        }

        var bytes = payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray();
        if (bytes.IsEmpty)
        {
            return; // a retained status being cleared
        }

        if (!GatewayStatus.TryParse(bytes, out var status) || status!.GatewayId != gatewayId)
        {
            _rejected.Add(1, new KeyValuePair<string, object?>("reason", "bad_status"));
            LogRejected(gatewayId, topic);
            return;
        }

        _gateways.OnStatus(status);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused status from gateway {GatewayId} on {Topic}: not a status record of this gateway")]
    private partial void LogRejected(string gatewayId, string topic);
}
