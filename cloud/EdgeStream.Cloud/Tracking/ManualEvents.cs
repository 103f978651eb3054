using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Cloud.Tracking;

/// <summary>
/// Carries people's events from the database to the event log (the transactional outbox's relay): the
/// API keeps an event and wakes the relay; the relay appends what is not appended yet, in the order it
/// was accepted, and marks it. After a crash between keeping and appending, the relay appends at start;
/// after a crash between appending and marking, it appends again, and the tracking job makes the same
/// outputs with the same ids from both copies, so the store keeps one. Runs in every process that has
/// both the log and the database.
/// </summary>
public sealed partial class ManualEventRelay(IManualEventStore store, IEventLog log, TimeProvider clock, ILogger<ManualEventRelay> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);

    /// <summary>Events appended since start.</summary>
    public long Appended { get; private set; }

    /// <summary>An event was kept: append it now rather than at the next poll.</summary>
    public void Wake() => _wake.Release();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await AppendPendingAsync(stoppingToken) > 0)
                {
                }

                failures = 0;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                failures++;
                LogFailed(logger, failures, ex.Message);
            }

            try
            {
                // Woken by the API in this process; polled for those kept by an API-only process.
                await _wake.WaitAsync(failures == 0 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(failures, 5))), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Appends one page of pending events; returns how many.</summary>
    internal async Task<int> AppendPendingAsync(CancellationToken cancellationToken)
    {
        var pending = await store.PendingManualAsync(500, cancellationToken);
        if (pending.Count == 0)
        {
            return 0;
        }

        var received = EventTimes.ToUnixMicroseconds(clock.GetUtcNow());
        var messages = new List<LogMessage>(pending.Count);
        foreach (var p in pending)
        {
            var manual = p.ToLogEvent();
            var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
            var n = LogRecordCodec.EncodeManual((ulong)p.Sequence, manual, buffer, Math.Max(received, manual.EventTimeUs));
            messages.Add(new LogMessage(manual.Epc.ToArray(), buffer.AsMemory(0, n), manual.EventTimeUs));
        }

        await log.AppendAsync(messages, cancellationToken);
        await store.MarkManualAppendedAsync([.. pending.Select(p => p.Sequence)], cancellationToken);
        Appended += pending.Count;
        return pending.Count;
    }

    [LoggerMessage(EventId = 8401, Level = LogLevel.Warning, Message = "Appending manual events to the log failed ({Failures} in a row): {Reason}; they stay kept and are appended when it works")]
    private static partial void LogFailed(ILogger logger, int failures, string reason);
}
