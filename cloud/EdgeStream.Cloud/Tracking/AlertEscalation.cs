using EdgeStream.Contracts;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Cloud.Tracking;

/// <summary>
/// Walks the escalation chain by the wall clock: every half minute, open alerts that nobody acknowledged
/// within <see cref="AlertSettings.EscalateAfter"/> of their last level go up one level (recorded as a
/// step). Snoozed alerts wait until the snooze ends. Safe with several processes on one database.
/// </summary>
public sealed partial class AlertEscalation(IWorkflowStore store, AlertSettings settings, ILogger<AlertEscalation> log) : BackgroundService
{
    /// <summary>How often open alerts are looked at.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Levels < 2)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    foreach (var a in await store.EscalateAsync(settings.EscalateAfter, settings.Levels, EventTimes.NowUs(), stoppingToken))
                    {
                        LogEscalated(log, a.Id, a.RuleId, a.AssetId, a.Level);
                    }
                }
                catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
                {
                    LogFailed(log, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 8301, Level = LogLevel.Warning, Message = "Alert {Id} ({Rule}, asset {Asset}) escalated to level {Level}: not acknowledged in time")]
    private static partial void LogEscalated(ILogger logger, long id, string rule, string asset, int level);

    [LoggerMessage(EventId = 8302, Level = LogLevel.Warning, Message = "Escalating alerts failed; trying again in 30 s")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
