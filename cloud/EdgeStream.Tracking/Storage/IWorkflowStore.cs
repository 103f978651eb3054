namespace EdgeStream.Tracking.Storage;

/// <summary>
/// Where workflows and alerts live, next to tracking in the same database: the definitions (every version
/// kept), each asset's state history, and alerts with every step of their lifecycle. The job's workflow
/// steps are written by <see cref="ITrackingStore.ApplyAsync"/> in the same transaction as placements.
/// Thread-safe.
/// </summary>
public interface IWorkflowStore
{
    /// <summary>Stores a version; false when that id and version are already stored (the stored one is kept).</summary>
    Task<bool> SaveWorkflowAsync(StoredWorkflow workflow, CancellationToken cancellationToken);

    /// <summary>Every stored version, by id then version.</summary>
    Task<IReadOnlyList<StoredWorkflow>> ListWorkflowsAsync(CancellationToken cancellationToken);

    /// <summary>An asset's workflow states overlapping [from, to), oldest first, a page at a time.</summary>
    Task<Page<StateInterval>> StatesAsync(string assetId, long fromUs, long toUs, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>Alerts matching <paramref name="filter"/>, newest first, a page at a time.</summary>
    Task<Page<Alert>> ListAlertsAsync(AlertFilter filter, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>An alert with its steps, or null.</summary>
    Task<Alert?> GetAlertAsync(long id, CancellationToken cancellationToken);

    /// <summary>Acknowledges, resolves or snoozes an alert by hand, recording who, when and why.</summary>
    /// <exception cref="AlertStateException">The step does not apply to the alert's status (e.g. acknowledging a resolved alert).</exception>
    /// <returns>The alert after the step, or null when there is no such alert.</returns>
    Task<Alert?> ChangeAlertAsync(long id, AlertChange change, CancellationToken cancellationToken);

    /// <summary>Raises the level of open alerts nobody acknowledged within <paramref name="after"/> of their last level change; returns those raised.</summary>
    Task<IReadOnlyList<Alert>> EscalateAsync(TimeSpan after, int maxLevel, long nowUs, CancellationToken cancellationToken);

    /// <summary>The type and attributes of each registered asset's current tags (EPC → profile).</summary>
    Task<IReadOnlyDictionary<string, AssetProfile>> AssetProfilesAsync(CancellationToken cancellationToken);

    /// <summary>Stores a rule version (a removal is a version too); false when that id and version are already stored.</summary>
    Task<bool> SaveRuleAsync(StoredRule rule, CancellationToken cancellationToken);

    /// <summary>Every stored rule version, by id then version.</summary>
    Task<IReadOnlyList<StoredRule>> ListRulesAsync(CancellationToken cancellationToken);
}

/// <summary>What rules and workflows need to know of a registered asset: its type (null: none) and attributes.</summary>
public sealed record AssetProfile(string? Type, IReadOnlyDictionary<string, string> Attributes);

/// <summary>A stored rule version: its JSON body as it was given, whether it removes the rule, and when it takes effect.</summary>
public sealed record StoredRule(string Id, int Version, bool Enabled, long EffectiveUs, string Body, long SavedUs, string SavedBy);

/// <summary>A stored workflow version: its JSON body as it was given, and when it takes effect.</summary>
public sealed record StoredWorkflow(string Id, int Version, string AssetType, long EffectiveUs, string Body, long SavedUs, string SavedBy);

/// <summary>One state of an asset's workflow history.</summary>
public sealed record StateInterval(string AssetId, string Epc, string WorkflowId, int Version, string State, string? FromState, string Cause, long FromUs, long? ToUs);

/// <summary>Filters of the alert list; null means any.</summary>
public sealed record AlertFilter(string? Status = null, string? Severity = null, string? AssetId = null, string? RuleId = null, long? FromUs = null, long? ToUs = null);

/// <summary>
/// An alert: open → acknowledged → resolved, one open per rule and asset. <see cref="Level"/> is its
/// escalation level (1 at first); <see cref="SnoozedUntilUs"/> hides it from notification until then.
/// </summary>
public sealed record Alert(
    long Id,
    string RuleId,
    string AssetId,
    string? Epc,
    string? State,
    string Severity,
    string? Message,
    string Status,
    int Level,
    long RaisedUs,
    long? AcknowledgedUs,
    string? AcknowledgedBy,
    long? ResolvedUs,
    string? ResolvedBy,
    long? SnoozedUntilUs)
{
    /// <summary>Every step, oldest first (filled when one alert is read).</summary>
    public IReadOnlyList<AlertStep> Steps { get; init; } = [];
}

/// <summary>One step of an alert's lifecycle: opened, acknowledged, snoozed, escalated, resolved.</summary>
public sealed record AlertStep(long AtUs, string Step, string Actor, string? Reason);

/// <summary>What a person does to an alert.</summary>
public enum AlertAction
{
    /// <summary>I have seen it and am on it.</summary>
    Acknowledge,

    /// <summary>It is over.</summary>
    Resolve,

    /// <summary>Do not notify about it until <see cref="AlertChange.UntilUs"/>.</summary>
    Snooze,
}

/// <summary>A step someone takes on an alert, with who, when and why.</summary>
public sealed record AlertChange(AlertAction Action, string Actor, string? Reason, long NowUs, long? UntilUs = null);

/// <summary>A step that does not apply to the alert's status.</summary>
public sealed class AlertStateException(string message) : Exception(message)
{
    /// <summary>Creates the exception with a default message.</summary>
    public AlertStateException()
        : this("The alert cannot take that step.")
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public AlertStateException(string message, Exception inner)
        : this(message + " " + inner.Message)
    {
    }
}
