using System.Buffers;
using System.Diagnostics.Metrics;
using EdgeStream.Cloud.Assets;
using EdgeStream.Cloud.Gateways;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Cloud.Mqtt;

/// <summary>The outcome of handling one gateway message.</summary>
public enum TrafficOutcome
{
    /// <summary>Applied.</summary>
    Accepted,

    /// <summary>Not a gateway topic of this scheme; ignored by ingest.</summary>
    NotGatewayTopic,

    /// <summary>Refused: see the reason counter and log.</summary>
    Rejected,
}

/// <summary>
/// Turns gateway MQTT messages into state: batches update assets and gateways, status messages
/// update gateways. Bad payloads are refused with a reason that is counted and logged; they never
/// throw out of here.
/// </summary>
public sealed partial class GatewayTraffic
{
    /// <summary>Meter name of the cloud's ingest instruments.</summary>
    public const string MeterName = "EdgeStream.Cloud";

    private readonly AssetDirectory _assets;
    private readonly GatewayDirectory _gateways;
    private readonly ILogger<GatewayTraffic> _log;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _reads;
    private readonly Counter<long> _rejected;

    /// <summary>Creates the handler.</summary>
    public GatewayTraffic(AssetDirectory assets, GatewayDirectory gateways, IMeterFactory meters, ILogger<GatewayTraffic> log)
    {
        _assets = assets;
        _gateways = gateways;
        _log = log;
        var meter = meters.Create(MeterName);
        _messages = meter.CreateCounter<long>("edgestream_cloud_messages_total", description: "Gateway MQTT messages received.");
        _reads = meter.CreateCounter<long>("edgestream_cloud_reads_ingested_total", description: "Reads and presence events accepted.");
        _rejected = meter.CreateCounter<long>("edgestream_cloud_rejected_total", description: "Gateway messages refused, by reason.");
    }

    /// <summary>Handles one message published by client <paramref name="clientId"/> on <paramref name="topic"/>.</summary>
    public TrafficOutcome Handle(string clientId, string topic, in ReadOnlySequence<byte> payload)
    {
        if (!Topics.TryParse(topic, out var gatewayId, out var kind))
        {
            if (topic.StartsWith("edgestream/", StringComparison.Ordinal))
            {
                return Reject(clientId, topic, "bad_topic", "the topic does not follow edgestream/v1/gw/{id}/...");
            }

            return TrafficOutcome.NotGatewayTopic;
        }

        _messages.Add(1);
        switch (kind)
        {
            case TopicKind.Reads:
            case TopicKind.Events:
                Batch batch;
                try
                {
                    batch = BatchCodec.Decode(payload);
                }
                catch (WireFormatException ex)
                {
                    return Reject(clientId, topic, ex.Error.ToString(), ex.Message);
                }

                if (batch.GatewayId != gatewayId)
                {
                    return Reject(clientId, topic, "gateway_mismatch", $"the payload says gateway '{batch.GatewayId}'");
                }

                if ((kind == TopicKind.Events) != (batch.Class == DataClass.Presence))
                {
                    return Reject(clientId, topic, "class_mismatch", $"a {batch.Class} batch on the {kind} topic");
                }

                _assets.Apply(batch);
                _gateways.OnBatch(gatewayId, batch);
                _reads.Add(batch.Count);
                return TrafficOutcome.Accepted;

            case TopicKind.Status:
                var bytes = payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray();
                if (!GatewayStatus.TryParse(bytes, out var status) || status!.GatewayId != gatewayId)
                {
                    return Reject(clientId, topic, "bad_status", "not a status record of this gateway");
                }

                _gateways.OnStatus(status);
                return TrafficOutcome.Accepted;

            default:
                // Config and config/applied are the fleet-configuration channel, handled elsewhere.
                return TrafficOutcome.NotGatewayTopic;
        }
    }

    private TrafficOutcome Reject(string clientId, string topic, string reason, string detail)
    {
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));
        LogRejected(clientId, topic, reason, detail);
        return TrafficOutcome.Rejected;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused message from client {ClientId} on {Topic}: {Reason}: {Detail}")]
    private partial void LogRejected(string clientId, string topic, string reason, string detail);
}
