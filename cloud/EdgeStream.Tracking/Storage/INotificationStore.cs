namespace EdgeStream.Tracking.Storage;

/// <summary>
/// The notifications outbox: every step of every alert (opened, acknowledged, snoozed, escalated, resolved)
/// is a notification, written in the same transaction as the step, numbered in the order steps happened.
/// Each channel (a webhook receiver, an MQTT topic) has its own delivery cursor, held by one process at a
/// time through a lease, so that notifications go out once per channel and in order. Thread-safe.
/// </summary>
public interface INotificationStore
{
    /// <summary>Up to <paramref name="limit"/> notifications after <paramref name="afterSeq"/>, oldest first.</summary>
    Task<IReadOnlyList<Notification>> NotificationsAfterAsync(long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Takes or renews the lease of <paramref name="channel"/> for <paramref name="owner"/> until
    /// <paramref name="untilUs"/> if it is free, expired or already the owner's; returns the channel's
    /// cursor (the last notification delivered or dead-lettered; 0 for a new channel), or null when
    /// another process holds the lease.
    /// </summary>
    Task<long?> LeaseChannelAsync(string channel, string owner, long nowUs, long untilUs, CancellationToken cancellationToken);

    /// <summary>Moves the channel's cursor to <paramref name="seq"/> (delivered), if <paramref name="owner"/> still holds the lease; false otherwise.</summary>
    Task<bool> MarkDeliveredAsync(string channel, string owner, long seq, CancellationToken cancellationToken);

    /// <summary>Keeps a notification the channel gave up on, with why, and moves the cursor past it (if <paramref name="owner"/> still holds the lease).</summary>
    Task<bool> DeadLetterAsync(string channel, string owner, long seq, int attempts, string error, long atUs, CancellationToken cancellationToken);

    /// <summary>The notifications channels gave up on, oldest first.</summary>
    Task<IReadOnlyList<NotificationDeadLetter>> ListNotificationDeadLettersAsync(string? channel, CancellationToken cancellationToken);
}

/// <summary>One alert step to tell the channels about, with the alert as it was after the step.</summary>
/// <param name="Seq">Its number: the order of steps, and its idempotency key (<see cref="Key"/>).</param>
/// <param name="AlertId">The alert.</param>
/// <param name="RuleId">The alert's rule.</param>
/// <param name="AssetId">The asset.</param>
/// <param name="Epc">The tag.</param>
/// <param name="State">The workflow state, or the zone, the alert is about.</param>
/// <param name="Severity">info, warning or critical.</param>
/// <param name="Message">The alert's text.</param>
/// <param name="RaisedUs">When the alert opened.</param>
/// <param name="Status">The alert's status after the step.</param>
/// <param name="Level">Its escalation level after the step.</param>
/// <param name="Step">What happened: opened, acknowledged, snoozed until …, escalated to level n, resolved.</param>
/// <param name="AtUs">When.</param>
/// <param name="Actor">Who (a person, <c>rule</c>, <c>workflow</c>, <c>escalation</c>).</param>
/// <param name="Reason">Why.</param>
/// <param name="CreatedUs">When the notification was written.</param>
public sealed record Notification(long Seq, long AlertId, string RuleId, string AssetId, string? Epc, string? State, string Severity, string? Message, long RaisedUs, string Status, int Level, string Step, long AtUs, string Actor, string? Reason, long CreatedUs)
{
    /// <summary>The notification's idempotency key: stable across retries, restarts and processes.</summary>
    public string Key => $"alert-{AlertId}-step-{Seq}";

    /// <summary>The event type a receiver switches on: <c>alert.opened</c>, <c>alert.acknowledged</c>, <c>alert.snoozed</c>, <c>alert.escalated</c>, <c>alert.resolved</c>.</summary>
    public string Type => "alert." + (Step.StartsWith("snoozed", StringComparison.Ordinal) ? "snoozed" : Step.StartsWith("escalated", StringComparison.Ordinal) ? "escalated" : Step);
}

/// <summary>A notification a channel gave up on: after how many attempts, why, and when.</summary>
public sealed record NotificationDeadLetter(string Channel, long Seq, int Attempts, string Error, long AtUs);
