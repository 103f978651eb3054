using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EdgeStream.Contracts;
using EdgeStream.Gateways;

namespace EdgeStream.Ingest;

/// <summary>
/// The ingest's instruments (System.Diagnostics.Metrics), named as they appear on <c>/metrics</c>.
/// Each instance owns its <see cref="Meter"/>, so the host exports exactly one set
/// (<c>EdgeStream.Observability.PrometheusExporter</c>) and tests never see each other's counts.
/// The totals are also kept as plain numbers for health pages and tests.
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "EdgeStream.Ingest";

    /// <summary>Most gateways whose last-seen time is tracked.</summary>
    public const int MaxTrackedGateways = ClockSkew.MaxTrackedGateways;

    private readonly Counter<long> _messages;
    private readonly Counter<long> _reads;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _marks;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _deadLettersEvicted;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _appendSeconds;
    private readonly ConcurrentDictionary<string, long> _deadLettersByReason = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _refusalsByKind = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastSeenUs = new(StringComparer.Ordinal);
    private long _messagesTotal;
    private long _readsTotal;
    private long _duplicatesTotal;

    /// <summary>Creates the instruments on a new meter.</summary>
    public IngestMetrics()
    {
        Meter = new Meter(MeterName);
        _messages = Meter.CreateCounter<long>("edgestream_cloud_messages_total", description: "MQTT messages received from gateways on ingest topics.");
        _reads = Meter.CreateCounter<long>("edgestream_cloud_reads_ingested_total", description: "Reads and presence events appended to the event log.");
        _duplicates = Meter.CreateCounter<long>("edgestream_cloud_duplicates_total", description: "Redelivered batches (same gateway and sequence) dropped.");
        _marks = Meter.CreateCounter<long>("edgestream_cloud_watermark_marks_total", description: "Watermark mark records appended (one per partition for each gateway status that carries a watermark).");
        _deadLetters = Meter.CreateCounter<long>("edgestream_cloud_deadletter_total", description: "Payloads refused and kept in the dead-letter store, by reason.");
        _deadLettersEvicted = Meter.CreateCounter<long>("edgestream_cloud_deadletter_evicted_total", description: "Dead letters dropped from the store to respect its size bound.");
        _refusals = Meter.CreateCounter<long>("edgestream_cloud_broker_refusals_total", description: "Connections, publishes and subscriptions the broker policy refused, by kind.");
        _appendSeconds = Meter.CreateHistogram<double>("edgestream_cloud_log_append_seconds", unit: "s", description: "Time from handing a batch to the event log until it was durable.");
        Meter.CreateObservableGauge("edgestream_cloud_gateway_last_seen_seconds", ObserveLastSeen, unit: "s", description: "When each gateway last sent a message (Unix seconds).");
        Meter.CreateObservableGauge("edgestream_cloud_clock_skew_seconds", ObserveSkew, unit: "s", description: "How far each gateway's event times run ahead of the cloud's clock (negative: behind).");
        Meter.CreateObservableGauge("edgestream_cloud_clock_correction_seconds", ObserveCorrection, unit: "s", description: "What ingest subtracts from each gateway's event times now (0 within the threshold).");
    }

    /// <summary>The clock measurements the skew gauges report (set by the pipeline).</summary>
    public ClockSkew? ClockSkew { get; set; }

    /// <summary>The meter the instruments live on.</summary>
    public Meter Meter { get; }

    /// <summary>Messages received on ingest topics.</summary>
    public long MessagesTotal => Interlocked.Read(ref _messagesTotal);

    /// <summary>Records appended to the log.</summary>
    public long ReadsIngestedTotal => Interlocked.Read(ref _readsTotal);

    /// <summary>Duplicate batches dropped.</summary>
    public long DuplicatesTotal => Interlocked.Read(ref _duplicatesTotal);

    /// <summary>Dead letters by reason.</summary>
    public long DeadLetters(string reason) => _deadLettersByReason.GetValueOrDefault(reason);

    /// <summary>All dead letters.</summary>
    public long DeadLettersTotal => _deadLettersByReason.Values.Sum();

    /// <summary>Broker refusals by kind (<c>connect</c>, <c>publish</c>, <c>subscribe</c>).</summary>
    public long Refusals(string kind) => _refusalsByKind.GetValueOrDefault(kind);

    /// <summary>When <paramref name="gatewayId"/> was last seen, or null.</summary>
    public DateTimeOffset? LastSeen(string gatewayId) =>
        _lastSeenUs.TryGetValue(gatewayId, out var us) ? Contracts.EventTimes.FromUnixMicroseconds(us) : null;

    /// <summary>Every gateway seen and when.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> LastSeenAll() =>
        _lastSeenUs.ToDictionary(kv => kv.Key, kv => Contracts.EventTimes.FromUnixMicroseconds(kv.Value), StringComparer.Ordinal);

    /// <summary>Disposes the meter.</summary>
    public void Dispose() => Meter.Dispose();

    internal void Message(string gatewayId, long nowUs)
    {
        Interlocked.Increment(ref _messagesTotal);
        _messages.Add(1);

        // Bounded: with an external broker whose ACLs are too open, topic ids are whatever anyone sends.
        if (_lastSeenUs.ContainsKey(gatewayId) || _lastSeenUs.Count < MaxTrackedGateways)
        {
            _lastSeenUs[gatewayId] = nowUs;
        }
    }

    internal void Ingested(int records)
    {
        Interlocked.Add(ref _readsTotal, records);
        _reads.Add(records);
    }

    internal void Duplicate()
    {
        Interlocked.Increment(ref _duplicatesTotal);
        _duplicates.Add(1);
    }

    internal void DeadLetter(string reason)
    {
        _deadLettersByReason.AddOrUpdate(reason, 1, (_, n) => n + 1);
        _deadLetters.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    internal void DeadLettersEvicted(long count) => _deadLettersEvicted.Add(count);

    internal void Refused(string kind)
    {
        _refusalsByKind.AddOrUpdate(kind, 1, (_, n) => n + 1);
        _refusals.Add(1, new KeyValuePair<string, object?>("kind", kind));
    }

    internal void Marks(int records) => _marks.Add(records);

    internal void Appended(TimeSpan elapsed) => _appendSeconds.Record(elapsed.TotalSeconds);

    private IEnumerable<Measurement<double>> ObserveSkew()
    {
        var skew = ClockSkew;
        var now = EventTimes.NowUs();
        return skew is null
            ? []
            : skew.Gateways.Select(g => (g, v: skew.SkewUs(g, now))).Where(x => x.v is not null)
                .Select(x => new Measurement<double>(x.v!.Value / 1_000_000.0, [new KeyValuePair<string, object?>("gateway", x.g)])).ToList();
    }

    private IEnumerable<Measurement<double>> ObserveCorrection()
    {
        var skew = ClockSkew;
        var now = EventTimes.NowUs();
        return skew is null
            ? []
            : skew.Gateways.Select(g => new Measurement<double>(skew.CorrectionUs(g, now) / 1_000_000.0, [new KeyValuePair<string, object?>("gateway", g)])).ToList();
    }

    private IEnumerable<Measurement<double>> ObserveLastSeen() =>
        _lastSeenUs.Select(kv => new Measurement<double>(kv.Value / 1_000_000.0, new KeyValuePair<string, object?>("gateway", kv.Key)));
}
