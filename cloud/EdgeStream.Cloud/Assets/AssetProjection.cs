using EdgeStream.Cloud.Gateways;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;

namespace EdgeStream.Cloud.Assets;

/// <summary>
/// Keeps <see cref="AssetDirectory"/> and the gateways' batch counters up to date from the event log.
/// The view lives in memory, so at start it replays the log from the oldest kept record (it commits
/// no offsets); the stream service is where durable, checkpointed per-tag state lives.
/// </summary>
public sealed partial class AssetProjection(IEventLog log, AssetDirectory assets, GatewayDirectory gateways, ILogger<AssetProjection> logger) : BackgroundService
{
    /// <summary>Consumer group of the view.</summary>
    public const string GroupId = "cloud-asset-view";

    private long _undecodable;
    private volatile bool _caughtUp;

    /// <summary>Log records that were not valid log entries (counted, skipped).</summary>
    public long Undecodable => Interlocked.Read(ref _undecodable);

    /// <summary>True when the view had read every record the log held the last time it found nothing new.</summary>
    public bool CaughtUp => _caughtUp;

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Consume blocks inside the Kafka client; keep it off the host's startup path.
        await Task.Yield();
        using var consumer = log.CreateConsumer(new LogConsumerOptions
        {
            GroupId = GroupId + "-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            StartFrom = OffsetReset.Earliest,
        });
        var next = new long[log.PartitionCount];
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<LogRecord> records;
            try
            {
                records = await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(250), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (EventLogException ex)
            {
                LogReadFailed(ex);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
                continue;
            }

            if (records.Count == 0)
            {
                _caughtUp = await AtEndAsync(next, stoppingToken);
                continue;
            }

            _caughtUp = false;
            foreach (var record in records)
            {
                next[record.Partition] = record.Offset + 1;
                LogEntry entry;
                try
                {
                    entry = LogRecordCodec.Decode(record.Value.Span);
                }
                catch (WireFormatException ex)
                {
                    Interlocked.Increment(ref _undecodable);
                    LogUndecodable(record.Partition, record.Offset, ex.Message);
                    continue;
                }

                assets.Apply(entry);
                if (entry.Index == 0)
                {
                    gateways.OnLogged(entry.GatewayId, entry.Sequence, entry.Class, entry.BatchCount);
                }
            }
        }
    }

    private async Task<bool> AtEndAsync(long[] next, CancellationToken ct)
    {
        for (var p = 0; p < next.Length; p++)
        {
            var offsets = await log.GetOffsetsAsync(p, ct);
            if (Math.Max(next[p], offsets.Start) < offsets.End)
            {
                return false;
            }
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reading the event log failed; retrying in 1 s")]
    private partial void LogReadFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped log record {Partition}@{Offset}: {Reason}")]
    private partial void LogUndecodable(int partition, long offset, string reason);
}
