using System.Buffers;
using System.Diagnostics;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;
using EdgeStream.Gateways;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Ingest;

/// <summary>What ingest did with a message.</summary>
public enum IngestOutcome
{
    /// <summary>Its records are durably in the event log.</summary>
    Appended,

    /// <summary>A redelivery of a batch already appended; dropped and counted.</summary>
    Duplicate,

    /// <summary>Refused and durably stored in the dead-letter store; counted.</summary>
    DeadLettered,

    /// <summary>Not a batch (status, config applied, config): only last-seen was updated.</summary>
    NotABatch,
}

/// <summary>
/// The one path every gateway message takes into the cloud, whichever broker delivered it:
/// validate → drop redeliveries → append to the event log keyed by EPC → remember the batch as seen →
/// return. The task completes only when the records are durable, so a broker that acknowledges after
/// awaiting it never acknowledges anything a crash could lose. Bad payloads never throw: they are
/// dead-lettered (durably) and counted. It throws only when the log or the disk fails, and then the
/// message must not be acknowledged.
/// </summary>
public sealed partial class IngestPipeline : IDisposable
{
    private readonly IngestOptions _options;
    private readonly IEventLog _log;
    private Epc[]? _markKeys;
    private readonly DedupeStore _dedupe;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;

    // Batches whose append a crash cut between partitions, with the record indices already in the
    // log: their redelivery appends only the rest. Filled at open, emptied as redeliveries arrive.
    private readonly Dictionary<(string Gateway, ulong Sequence), HashSet<int>> _partial = [];
    private readonly Lock _partialLock = new();
    private bool _ownsMetrics;

    private IngestPipeline(IngestOptions options, IEventLog log, DedupeStore dedupe, DeadLetterStore deadLetters, IngestMetrics metrics, ILogger logger, TimeProvider clock)
    {
        _options = options;
        _log = log;
        _dedupe = dedupe;
        DeadLetters = deadLetters;
        Metrics = metrics;
        _logger = logger;
        _clock = clock;
    }

    /// <summary>The counters and histogram this pipeline updates.</summary>
    public IngestMetrics Metrics { get; }

    /// <summary>Raised after a batch is durably in the log (once per batch; a redelivery is not raised again). Handlers must be quick and must not throw.</summary>
    public event Action<Batch>? BatchAppended;

    /// <summary>Each gateway's measured clock skew, and the correction written with its records.</summary>
    public ClockSkew ClockSkew { get; private init; } = new();

    /// <summary>Where refused payloads are kept.</summary>
    public DeadLetterStore DeadLetters { get; }

    /// <summary>Batches found complete in the log tail at open whose dedupe marks had not been made durable before a crash.</summary>
    public int RecoveredBatches { get; private init; }

    /// <summary>
    /// Opens the pipeline's durable state in <see cref="IngestOptions.StateDirectory"/>, first reading the
    /// log's tail to recover dedupe marks a crash may have cut off.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options; the message names the key.</exception>
    public static async Task<IngestPipeline> OpenAsync(IngestOptions options, IEventLog log, IngestMetrics? metrics = null, ILogger<IngestPipeline>? logger = null, TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var ownsMetrics = metrics is null;
        metrics ??= new IngestMetrics();
        var dedupe = DedupeStore.Load(Path.Combine(options.StateDirectory, "dedupe"), options.MaxDedupeGapsPerGateway);
        var partial = new Dictionary<(string Gateway, ulong Sequence), HashSet<int>>();
        var corrections = new Dictionary<string, (long IngestUs, long OffsetUs)>(StringComparer.Ordinal);
        var recovered = options.DedupeRecoveryRecordsPerPartition == 0
            ? 0
            : await DedupeRecovery.RunAsync(log, dedupe, options.DedupeRecoveryRecordsPerPartition, options.DedupeRecoveryTimeout, partial, cancellationToken, corrections);
        dedupe.StartJournal();
        var deadLetters = DeadLetterStore.Open(Path.Combine(options.StateDirectory, "deadletters"), options.MaxDeadLetterPayloadBytes, options.MaxDeadLetterBytes, metrics.DeadLettersEvicted);
        var pipeline = new IngestPipeline(options, log, dedupe, deadLetters, metrics, logger ?? (ILogger)NullLogger.Instance, clock ?? TimeProvider.System)
        {
            RecoveredBatches = recovered,
            ClockSkew = new ClockSkew(options.ClockSkewThreshold, options.ClockSkewWindow),
            _ownsMetrics = ownsMetrics,
        };
        metrics.ClockSkew = pipeline.ClockSkew;
        foreach (var (gateway, (at, offset)) in corrections)
        {
            pipeline.ClockSkew.Resume(gateway, offset, at);
        }

        foreach (var (key, present) in partial)
        {
            pipeline._partial[key] = present;
        }

        if (recovered > 0)
        {
            LogRecovered(pipeline._logger, recovered);
        }

        if (partial.Count > 0)
        {
            LogPartial(pipeline._logger, partial.Count);
        }

        return pipeline;
    }

    /// <summary>True when the batch (gateway, sequence) has been appended.</summary>
    public bool HasSeen(string gatewayId, ulong sequence) => _dedupe.IsSeen(gatewayId, sequence);

    /// <summary>
    /// Ingests one MQTT message from <paramref name="gatewayId"/> (the authenticated sender in embedded-broker
    /// mode; the topic's gateway with an external broker).
    /// </summary>
    /// <exception cref="EventLogException">The log could not store the records: do not acknowledge the message.</exception>
    /// <exception cref="IOException">The dedupe journal or dead-letter store could not be written: do not acknowledge.</exception>
    public async Task<IngestOutcome> HandleAsync(string gatewayId, string topic, ReadOnlySequence<byte> payload, CancellationToken cancellationToken)
    {
        var parsed = Topics.TryParse(topic, out var topicGateway, out var kind);
        if (parsed && kind == TopicKind.Config)
        {
            // Configuration flows to gateways; an external-broker subscription sees it go by.
            return IngestOutcome.NotABatch;
        }

        var now = _clock.GetUtcNow();
        Metrics.Message(gatewayId, EventTimes.ToUnixMicroseconds(now));
        if (!parsed)
        {
            return DeadLetter(now, gatewayId, topic, DeadLetterReasons.UnknownTopic, "The topic is not of the form edgestream/v1/gw/{gateway}/{reads|events|status|config/applied}.", payload);
        }

        if (topicGateway != gatewayId)
        {
            return DeadLetter(now, gatewayId, topic, DeadLetterReasons.GatewayMismatch, $"Gateway '{gatewayId}' published under gateway '{topicGateway}'.", payload);
        }

        if (kind is TopicKind.Status or TopicKind.ConfigApplied)
        {
            if (kind == TopicKind.Status && payload.Length is > 0 and < 64 * 1024)
            {
                var json = payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray();
                if (GatewayStatus.TryParse(json, out var status) && status!.Online && status.GatewayId == gatewayId)
                {
                    var receivedUs = EventTimes.ToUnixMicroseconds(now);
                    ClockSkew.ObserveStatus(gatewayId, status.TimeUs, receivedUs);
                    if (status.WatermarkUs > 0)
                    {
                        await AppendMarksAsync(gatewayId, status.WatermarkUs, receivedUs, cancellationToken);
                    }
                }
            }

            return IngestOutcome.NotABatch;
        }

        if (payload.Length > _options.MaxPayloadBytes)
        {
            return DeadLetter(now, gatewayId, topic, DeadLetterReasons.Oversize, $"Payload of {payload.Length} bytes exceeds IngestOptions.MaxPayloadBytes ({_options.MaxPayloadBytes}).", payload);
        }

        Batch batch;
        try
        {
            batch = BatchCodec.Decode(payload);
        }
        catch (WireFormatException ex)
        {
            return DeadLetter(now, gatewayId, topic, DeadLetterReasons.For(ex.Error), ex.Message, payload);
        }

        if (batch.GatewayId != gatewayId)
        {
            return DeadLetter(now, gatewayId, topic, DeadLetterReasons.GatewayMismatch, $"The batch says gateway '{batch.GatewayId}' but was sent by '{gatewayId}'.", payload);
        }

        var expected = kind == TopicKind.Reads ? DataClass.Reads : DataClass.Presence;
        if (batch.Class != expected)
        {
            return DeadLetter(now, gatewayId, topic, DeadLetterReasons.ClassMismatch, $"A batch of {batch.Class} arrived on the {kind} topic.", payload);
        }

        if (await _dedupe.TryBeginAsync(gatewayId, batch.Sequence, cancellationToken) == DedupeStore.Decision.Duplicate)
        {
            Metrics.Duplicate();
            LogDuplicate(_logger, gatewayId, batch.Sequence);
            return IngestOutcome.Duplicate;
        }

        HashSet<int>? present;
        lock (_partialLock)
        {
            _partial.Remove((gatewayId, batch.Sequence), out present);
        }

        try
        {
            await AppendAsync(batch, present, EventTimes.ToUnixMicroseconds(now), cancellationToken);
        }
        catch
        {
            _dedupe.Abort(gatewayId, batch.Sequence);
            if (present is not null)
            {
                lock (_partialLock)
                {
                    _partial.TryAdd((gatewayId, batch.Sequence), present);
                }
            }

            throw;
        }

        await _dedupe.CompleteAsync(gatewayId, batch.Sequence, CancellationToken.None);
        Metrics.Ingested(batch.Count);
        BatchAppended?.Invoke(batch);
        return IngestOutcome.Appended;
    }

    /// <summary>Closes the dedupe journal and the dead-letter store (the log, and metrics passed in, belong to the caller).</summary>
    public void Dispose()
    {
        _dedupe.Dispose();
        DeadLetters.Dispose();
        if (_ownsMetrics)
        {
            Metrics.Dispose();
        }
    }

    private async Task AppendAsync(Batch batch, HashSet<int>? alreadyPresent, long receivedUs, CancellationToken cancellationToken)
    {
        var count = batch.Count;
        if (count == 0 || alreadyPresent?.Count >= count)
        {
            return;
        }

        // Measure the gateway's clock with this batch, then stamp every record with the time it arrived and
        // the correction in force, so that placing it by event time is the same on every replay.
        var newest = long.MinValue;
        for (var i = 0; i < count; i++)
        {
            newest = Math.Max(newest, batch.Class == DataClass.Reads ? batch.Reads[i].EventTimeUs : batch.Events[i].EventTimeUs);
        }

        ClockSkew.ObserveBatch(batch.GatewayId, batch.CreatedUs, newest, receivedUs);
        var offset = ClockSkew.CorrectionUs(batch.GatewayId, receivedUs);

        // One pooled buffer holds every record's key and value for the batch: no allocation per record.
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(count * 160, 64 * 1024 * 1024));
        var ranges = ArrayPool<(int KeyStart, int KeyLength, int ValueLength, long Time)>.Shared.Rent(count);
        try
        {
            var pos = 0;
            for (var i = 0; i < count; i++)
            {
                if (buffer.Length - pos < LogRecordCodec.MaxEncodedBytes)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, pos + LogRecordCodec.MaxEncodedBytes));
                    buffer.AsSpan(0, pos).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                int keyLength, valueLength;
                long time;
                if (batch.Class == DataClass.Reads)
                {
                    var read = batch.Reads[i];
                    keyLength = read.Epc.CopyTo(buffer.AsSpan(pos));
                    valueLength = LogRecordCodec.EncodeRead(batch.GatewayId, batch.Sequence, i, count, read, buffer.AsSpan(pos + keyLength), receivedUs, offset);
                    time = Math.Min(read.EventTimeUs - offset, receivedUs);
                }
                else
                {
                    var presence = batch.Events[i];
                    keyLength = presence.Epc.CopyTo(buffer.AsSpan(pos));
                    valueLength = LogRecordCodec.EncodePresence(batch.GatewayId, batch.Sequence, i, count, presence, buffer.AsSpan(pos + keyLength), receivedUs, offset);
                    time = Math.Min(presence.EventTimeUs - offset, receivedUs);
                }

                ranges[i] = (pos, keyLength, valueLength, time);
                pos += keyLength + valueLength;
            }

            var messages = new List<LogMessage>(count);
            for (var i = 0; i < count; i++)
            {
                if (alreadyPresent?.Contains(i) == true)
                {
                    continue; // appended before a crash cut the batch short
                }

                var (start, keyLength, valueLength, time) = ranges[i];
                messages.Add(new LogMessage(buffer.AsMemory(start, keyLength), buffer.AsMemory(start + keyLength, valueLength), time));
            }

            var started = Stopwatch.GetTimestamp();
            await _log.AppendAsync(messages, cancellationToken);
            Metrics.Appended(Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            ArrayPool<(int, int, int, long)>.Shared.Return(ranges);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Appends the gateway's watermark mark to every partition (each record keyed so that it lands in its
    /// own partition): the stream job's clock of that gateway moves on although it sends nothing.
    /// </summary>
    private async Task AppendMarksAsync(string gatewayId, long markUs, long receivedUs, CancellationToken cancellationToken)
    {
        var offset = ClockSkew.CorrectionUs(gatewayId, receivedUs);
        var keys = _markKeys ??= MarkKeys(_log.PartitionCount);
        var messages = new List<LogMessage>(keys.Length);
        foreach (var key in keys)
        {
            var value = new byte[LogRecordCodec.MaxEncodedBytes];
            var n = LogRecordCodec.EncodeMark(gatewayId, 0, key, markUs, value, receivedUs, offset);
            messages.Add(new LogMessage(key.ToArray(), value.AsMemory(0, n), Math.Min(markUs - offset, receivedUs)));
        }

        await _log.AppendAsync(messages, cancellationToken);
        Metrics.Marks(keys.Length);
    }

    /// <summary>One key per partition, found once: 32-bit keys counted up until each partition has one.</summary>
    private static Epc[] MarkKeys(int partitions)
    {
        var keys = new Epc[partitions];
        var found = 0;
        Span<byte> bytes = stackalloc byte[4];
        for (uint i = 0; found < partitions; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, i);
            var p = LogPartitioner.PartitionFor(bytes, partitions);
            if (keys[p].BitLength == 0)
            {
                keys[p] = Epc.FromBytes(bytes, 32);
                found++;
            }
        }

        return keys;
    }

    private IngestOutcome DeadLetter(DateTimeOffset now, string gatewayId, string topic, string reason, string detail, ReadOnlySequence<byte> payload)
    {
        var length = (int)Math.Min(payload.Length, int.MaxValue);
        var keep = (int)Math.Min(payload.Length, _options.MaxDeadLetterPayloadBytes);
        var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(keep, 1));
        try
        {
            payload.Slice(0, keep).CopyTo(bytes);
            DeadLetters.Add(now, gatewayId, topic, reason, detail, bytes.AsSpan(0, keep), length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }

        Metrics.DeadLetter(reason);
        LogDeadLetter(_logger, gatewayId, topic, reason, detail);
        return IngestOutcome.DeadLettered;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettered a message from gateway {GatewayId} on {Topic}: {Reason} ({Detail})")]
    private static partial void LogDeadLetter(ILogger logger, string gatewayId, string topic, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered the dedupe marks of {Count} batches appended just before the last crash")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} batches were cut short between partitions by the last crash; their redeliveries will append only the missing records")]
    private static partial void LogPartial(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped redelivered batch {Sequence} of gateway {GatewayId}")]
    private static partial void LogDuplicate(ILogger logger, string gatewayId, ulong sequence);
}
