namespace EdgeStream.Rules.Definitions;

/// <summary>
/// A workflow: a state machine that every asset of <see cref="AssetType"/> runs, from
/// <see cref="Initial"/>. Definitions are files (<c>Schemas/workflow.schema.json</c>) and are versioned:
/// <see cref="Version"/> grows with each change of the same <see cref="Id"/>.
/// </summary>
public sealed record WorkflowDefinition(
    string Id,
    int Version,
    string AssetType,
    string Initial,
    IReadOnlyList<WorkflowState> States,
    IReadOnlyList<WorkflowTransition> Transitions)
{
    /// <summary>The state called <paramref name="name"/>, or null.</summary>
    public WorkflowState? State(string name) => States.FirstOrDefault(s => s.Name == name);
}

/// <summary>A state; a final one ends the asset's run of the workflow. Its alerts fire when the asset stays longer than each one's limit.</summary>
public sealed record WorkflowState(string Name, bool Final, IReadOnlyList<StateAlert> Alerts);

/// <summary>"In this state for more than <see cref="After"/>": an alert of <see cref="Severity"/>.</summary>
public sealed record StateAlert(string Id, TimeSpan After, AlertSeverity Severity, string? Message, TimerClock Clock);

/// <summary>How urgent an alert is.</summary>
public enum AlertSeverity
{
    /// <summary>For the record.</summary>
    Info,

    /// <summary>Someone should look.</summary>
    Warning,

    /// <summary>Someone must act now.</summary>
    Critical,
}

/// <summary>Which clock a timer runs on.</summary>
public enum TimerClock
{
    /// <summary>The events' time: the timer fires when the watermark passes its deadline (late data cannot make it fire early).</summary>
    Event,

    /// <summary>The worker's wall clock: fires although no further event comes ("nothing has happened by now").</summary>
    Processing,
}

/// <summary>A move from any of <see cref="From"/> (<c>*</c>: any state that is not final) to <see cref="To"/> when <see cref="On"/> happens.</summary>
public sealed record WorkflowTransition(IReadOnlyList<string> From, string To, WorkflowTrigger On);

/// <summary>Which zones a trigger means: one by name, or every zone of a kind (room, exit, waiting-room…).</summary>
public sealed record ZoneMatch(string? Zone, string? Kind)
{
    /// <inheritdoc />
    public override string ToString() => Zone is not null ? $"zone {Zone}" : $"a zone of kind {Kind}";
}

/// <summary>What makes a transition happen.</summary>
public abstract record WorkflowTrigger;

/// <summary>The asset enters a matching zone.</summary>
public sealed record EnterTrigger(ZoneMatch Zone) : WorkflowTrigger;

/// <summary>The asset leaves a matching zone, and (with <see cref="AbsentFor"/>) does not come back within that time.</summary>
public sealed record LeaveTrigger(ZoneMatch Zone, TimeSpan? AbsentFor, TimerClock Clock) : WorkflowTrigger;

/// <summary>The asset has been in the transition's state for <see cref="After"/>.</summary>
public sealed record DwellTrigger(TimeSpan After, TimerClock Clock) : WorkflowTrigger;

/// <summary>An operator's action on the asset (<c>POST /api/events</c>, the console), e.g. <c>discharge</c>.</summary>
public sealed record ManualTrigger(string Action) : WorkflowTrigger;

/// <summary>An asset of <see cref="AssetType"/> enters the zone this asset is in (a clinician's badge enters the exam room).</summary>
public sealed record PeerEntersTrigger(string AssetType) : WorkflowTrigger;
