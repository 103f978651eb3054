using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeStream.TestUtilities;

/// <summary>
/// Stands in for the cloud's ingest: subscribes to every gateway topic with QoS 1, decodes each
/// batch and dedupes by (gateway, sequence), as the cloud does, keeping the order of first arrival.
/// </summary>
public sealed class BatchCollector : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly object _gate = new();
    private readonly HashSet<(string, ulong)> _seen = [];
    private readonly List<Batch> _unique = [];
    private long _deliveries;

    private BatchCollector(IMqttClient client) => _client = client;

    public ConcurrentDictionary<string, string> Status { get; } = new();

    /// <summary>Batches delivered including redeliveries.</summary>
    public long Deliveries => Interlocked.Read(ref _deliveries);

    /// <summary>Distinct batches in order of first arrival.</summary>
    public List<Batch> Unique
    {
        get
        {
            lock (_gate)
            {
                return [.. _unique];
            }
        }
    }

    public long UniqueReads
    {
        get
        {
            lock (_gate)
            {
                return _unique.Sum(b => (long)b.Count);
            }
        }
    }

    public static async Task<BatchCollector> StartAsync(Uri broker)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var collector = new BatchCollector(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            collector.OnMessage(e.ApplicationMessage.Topic, BuffersExtensions.ToArray(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("test-cloud-" + Guid.NewGuid().ToString("N")[..8])
            .WithCleanStart(true)
            .WithSessionExpiryInterval(3600)
            .Build());
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.AllGateways, MqttQualityOfServiceLevel.AtLeastOnce, false, false, MqttRetainHandling.SendAtSubscribe)
            .Build());
        return collector;
    }

    private void OnMessage(string topic, byte[] payload)
    {
        if (!Topics.TryParse(topic, out var gw, out var kind))
        {
            return;
        }

        if (kind == TopicKind.Status)
        {
            Status[gw] = Encoding.UTF8.GetString(payload);
            return;
        }

        var batch = BatchCodec.Decode(payload);
        Interlocked.Increment(ref _deliveries);
        lock (_gate)
        {
            if (_seen.Add((batch.GatewayId, batch.Sequence)))
            {
                _unique.Add(batch);
            }
        }
    }

    /// <summary>The id a test read carries in its EPC (bytes 4..12).</summary>
    public static long IdOf(TagRead r) => BinaryPrimitives.ReadInt64BigEndian(r.Epc.ToArray().AsSpan(4));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _client.DisconnectAsync();
        }
        catch (Exception)
        {
        }

        _client.Dispose();
    }
}
