using EdgeStream.Rules.Definitions;

namespace EdgeStream.Rules.Workflows;

/// <summary>Asks the host (an engine task) for a timer, or withdraws one; the host calls <see cref="WorkflowMachine.OnTimer"/> when it fires.</summary>
public interface IWorkflowTimers
{
    /// <summary>A timer at <paramref name="timeUs"/> on <paramref name="clock"/>; once per asset and time.</summary>
    void Register(long timeUs, TimerClock clock);

    /// <summary>Withdraws the timer at <paramref name="timeUs"/>.</summary>
    void Delete(long timeUs, TimerClock clock);
}

/// <summary>One asset's run of a workflow: its state, since when, where it is, and what is pending. Small, so that it lives in keyed state.</summary>
public struct WorkflowRun
{
    /// <summary>Index of the state in the definition.</summary>
    public int State;

    /// <summary>When the asset entered <see cref="State"/>.</summary>
    public long SinceUs;

    /// <summary>The zone the asset is in, or null.</summary>
    public string? Zone;

    /// <summary>The zone the asset last left, and when (for <c>leave</c> with <c>absentFor</c>).</summary>
    public string? LeftZone;

    /// <summary>When it left <see cref="LeftZone"/>.</summary>
    public long LeftAtUs;

    /// <summary>Bit i: the current state's alert i has fired.</summary>
    public ulong FiredAlerts;
}

/// <summary>What a run did: a state change, or an alert raised or cleared.</summary>
public abstract record WorkflowOutput(long AtUs);

/// <summary>The asset moved from <see cref="From"/> (null: its run started) to <see cref="To"/>, because of <see cref="Cause"/>.</summary>
public sealed record StateChanged(string? From, string To, long AtUs, string Cause) : WorkflowOutput(AtUs);

/// <summary>A state's alert fired: the asset stayed longer than its limit.</summary>
public sealed record AlertRaised(string AlertId, string State, AlertSeverity Severity, string? Message, long AtUs) : WorkflowOutput(AtUs);

/// <summary>The alert's condition cleared: the asset left the state (or, for a rule, <see cref="Reason"/>).</summary>
public sealed record AlertCleared(string AlertId, string State, long AtUs, string? Reason = null) : WorkflowOutput(AtUs);

/// <summary>
/// Runs a <see cref="WorkflowDefinition"/> for one asset at a time: the host keeps each asset's
/// <see cref="WorkflowRun"/> in keyed state and its timers in the engine's timer service, so both are
/// checkpointed with the task. The machine is deterministic: the same events and timers in the same
/// order give the same outputs, so a replay after a crash repeats them exactly (and the sink's
/// deterministic ids make them effects once). A timer whose deadline no longer holds (the asset moved
/// on, came back, or the alert fired) does nothing when it fires.
/// </summary>
public sealed class WorkflowMachine
{
    private readonly WorkflowDefinition _definition;
    private readonly Func<string, string?> _kindOf;
    private readonly WorkflowTransition[][] _from;

    /// <summary>Creates the machine; <paramref name="kindOf"/> says what kind a zone is (null when unknown).</summary>
    public WorkflowMachine(WorkflowDefinition definition, Func<string, string?> kindOf)
    {
        _definition = definition;
        _kindOf = kindOf;
        // The transitions out of each state, in file order, computed once.
        _from = [.. definition.States.Select(s => definition.Transitions.Where(t => t.From.Contains(s.Name) || (!s.Final && t.From.Contains("*"))).ToArray())];
        PeerTypes = definition.Transitions.Select(t => t.On).OfType<PeerEntersTrigger>().Select(p => p.AssetType).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The asset types whose entering this asset's zone some transition waits for (<c>peerEnters</c>).</summary>
    public IReadOnlySet<string> PeerTypes { get; }

    /// <summary>The definition run.</summary>
    public WorkflowDefinition Definition => _definition;

    /// <summary>The name of the run's state.</summary>
    public string StateOf(in WorkflowRun run) => _definition.States[run.State].Name;

    /// <summary>True when the run reached a final state.</summary>
    public bool IsOver(in WorkflowRun run) => _definition.States[run.State].Final;

    /// <summary>True when the run waits for a deadline at <paramref name="timeUs"/> on <paramref name="clock"/> (a host that shares the asset's timers must not withdraw it).</summary>
    public bool Waits(in WorkflowRun run, long timeUs, TimerClock clock) => Deadlines(run, Lists.Probe).Contains((timeUs, clock));

    /// <summary>A new run in the initial state from <paramref name="atUs"/>.</summary>
    public WorkflowRun Start(long atUs, IWorkflowTimers timers)
    {
        var run = new WorkflowRun { State = IndexOf(_definition.Initial), SinceUs = atUs };
        Sync([], run, timers);
        return run;
    }

    /// <summary>
    /// Moves a run of <paramref name="older"/> (another version of this workflow) onto this one, at
    /// <paramref name="atUs"/>. The rule: the run keeps its state, since when, where it is, and which of
    /// its alerts have fired, matched by name and alert id; a state this version no longer has sends it
    /// to the initial state from <paramref name="atUs"/> (reported, with the alerts it clears). Timers are
    /// the difference of the two versions' deadlines: a deadline both want stays armed (never fired twice),
    /// one only the old one wanted is withdrawn, one only the new one wants is armed (at once, if passed).
    /// </summary>
    public void Adopt(WorkflowMachine older, ref WorkflowRun run, long atUs, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        var before = older.Deadlines(run, Lists.Before);
        var oldState = older._definition.States[run.State];
        var index = FindIndex(_definition.States, s => s.Name == oldState.Name);
        var alerts = index >= 0 ? _definition.States[index].Alerts : [];
        ulong fired = 0;
        for (var i = 0; i < oldState.Alerts.Count && i < 64; i++)
        {
            if ((run.FiredAlerts & (1UL << i)) == 0)
            {
                continue;
            }

            // A fired alert the new state still has stays fired; one it lost clears.
            var j = FindIndex(alerts, a => a.Id == oldState.Alerts[i].Id);
            if (j is >= 0 and < 64)
            {
                fired |= 1UL << j;
            }
            else
            {
                outputs.Add(new AlertCleared(oldState.Alerts[i].Id, oldState.Name, atUs));
            }
        }

        if (index >= 0)
        {
            run.State = index;
        }
        else
        {
            run.State = IndexOf(_definition.Initial);
            run.SinceUs = atUs;
            run.LeftZone = null;
            outputs.Add(new StateChanged(oldState.Name, _definition.Initial, atUs, $"version {_definition.Version} has no state '{oldState.Name}'"));
        }

        run.FiredAlerts = fired;
        Sync(before, run, timers);
    }

    /// <summary>The asset entered <paramref name="zone"/> at <paramref name="atUs"/>.</summary>
    public void OnEnter(ref WorkflowRun run, string zone, long atUs, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        var before = Deadlines(run, Lists.Before);
        if (run.LeftZone == zone)
        {
            // Back in the zone it left: the absence no longer holds.
            run.LeftZone = null;
        }

        run.Zone = zone;
        Fire(ref run, atUs, t => t is EnterTrigger e && Matches(e.Zone, zone), $"entered {zone}", outputs);
        Sync(before, run, timers);
    }

    /// <summary>The asset left <paramref name="zone"/> at <paramref name="atUs"/> (to another zone or to nowhere).</summary>
    public void OnLeave(ref WorkflowRun run, string zone, long atUs, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        var before = Deadlines(run, Lists.Before);
        if (run.Zone == zone)
        {
            run.Zone = null;
        }

        if (!Fire(ref run, atUs, t => t is LeaveTrigger { AbsentFor: null } l && Matches(l.Zone, zone), $"left {zone}", outputs)
            && From(run.State).Any(t => t.On is LeaveTrigger { AbsentFor: not null } l && Matches(l.Zone, zone)))
        {
            // A leave that counts only if the asset stays away: its deadline is armed below. Leaving a
            // zone no transition watches (the corridor on the way out) does not replace it.
            run.LeftZone = zone;
            run.LeftAtUs = atUs;
        }

        Sync(before, run, timers);
    }

    /// <summary>An operator's action on the asset.</summary>
    public void OnManual(ref WorkflowRun run, string action, long atUs, IWorkflowTimers timers, List<WorkflowOutput> outputs, string? by = null)
    {
        var before = Deadlines(run, Lists.Before);
        Fire(ref run, atUs, t => t is ManualTrigger m && m.Action == action, by is null ? $"manual {action}" : $"manual {action} by {by}", outputs);
        Sync(before, run, timers);
    }

    /// <summary>An asset of <paramref name="assetType"/> entered the zone this asset is in.</summary>
    public void OnPeerEnters(ref WorkflowRun run, string assetType, long atUs, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        var before = Deadlines(run, Lists.Before);
        var zone = run.Zone;
        Fire(ref run, atUs, t => t is PeerEntersTrigger p && p.AssetType == assetType, $"{assetType} entered {zone}", outputs);
        Sync(before, run, timers);
    }

    /// <summary>A timer registered by this machine fired at <paramref name="timeUs"/> on <paramref name="clock"/>.</summary>
    public void OnTimer(ref WorkflowRun run, long timeUs, TimerClock clock, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        if (IsOver(run))
        {
            return;
        }

        var before = Deadlines(run, Lists.Before);
        var state = _definition.States[run.State];
        for (var i = 0; i < state.Alerts.Count && i < 64; i++)
        {
            var a = state.Alerts[i];
            if (a.Clock == clock && run.SinceUs + (long)a.After.TotalMicroseconds == timeUs && (run.FiredAlerts & (1UL << i)) == 0)
            {
                run.FiredAlerts |= 1UL << i;
                outputs.Add(new AlertRaised(a.Id, state.Name, a.Severity, a.Message, timeUs));
            }
        }

        var since = run.SinceUs;
        var left = run.LeftZone;
        var leftAt = run.LeftAtUs;
        Fire(
            ref run,
            timeUs,
            t => t switch
            {
                DwellTrigger d => d.Clock == clock && since + (long)d.After.TotalMicroseconds == timeUs,
                LeaveTrigger { AbsentFor: { } d } l => l.Clock == clock && left is not null && Matches(l.Zone, left) && leftAt + (long)d.TotalMicroseconds == timeUs,
                _ => false,
            },
            "timer",
            outputs);
        Sync(before, run, timers);
    }

    private bool Fire(ref WorkflowRun run, long atUs, Func<WorkflowTrigger, bool> matches, string cause, List<WorkflowOutput> outputs)
    {
        if (IsOver(run))
        {
            return false;
        }

        // The first transition in file order wins, so a definition reads top to bottom.
        foreach (var t in From(run.State))
        {
            if (!matches(t.On))
            {
                continue;
            }

            var from = _definition.States[run.State];
            for (var i = 0; i < from.Alerts.Count && i < 64; i++)
            {
                if ((run.FiredAlerts & (1UL << i)) != 0)
                {
                    outputs.Add(new AlertCleared(from.Alerts[i].Id, from.Name, atUs));
                }
            }

            run.State = IndexOf(t.To);
            run.SinceUs = atUs;
            run.FiredAlerts = 0;
            run.LeftZone = null;
            outputs.Add(new StateChanged(from.Name, t.To, atUs, cause));
            return true;
        }

        return false;
    }

    private WorkflowTransition[] From(int state) => _from[state];

    /// <summary>
    /// Every deadline the run waits for now: the state's alerts not yet fired, its dwell transitions, and
    /// the absence from the zone it left. Timers follow this set exactly (<see cref="Sync"/>), so a
    /// deadline two purposes share stays armed while either still needs it, and none is left behind.
    /// </summary>
    /// <remarks>Filled into <paramref name="due"/>, one of this thread's lists (<see cref="Lists"/>): this runs at every step, and must not allocate.</remarks>
    private List<(long Time, TimerClock Clock)> Deadlines(in WorkflowRun run, List<(long Time, TimerClock Clock)> due)
    {
        due.Clear();
        if (IsOver(run))
        {
            return due;
        }

        var alerts = _definition.States[run.State].Alerts;
        for (var i = 0; i < alerts.Count && i < 64; i++)
        {
            if ((run.FiredAlerts & (1UL << i)) == 0)
            {
                Add(due, (run.SinceUs + (long)alerts[i].After.TotalMicroseconds, alerts[i].Clock));
            }
        }

        foreach (var t in From(run.State))
        {
            if (t.On is DwellTrigger d)
            {
                Add(due, (run.SinceUs + (long)d.After.TotalMicroseconds, d.Clock));
            }
            else if (t.On is LeaveTrigger { AbsentFor: { } a } l && run.LeftZone is { } left && Matches(l.Zone, left))
            {
                Add(due, (run.LeftAtUs + (long)a.TotalMicroseconds, l.Clock));
            }
        }

        return due;
    }

    private void Sync(List<(long Time, TimerClock Clock)> before, in WorkflowRun run, IWorkflowTimers timers)
    {
        var after = Deadlines(run, Lists.After);
        foreach (var d in before)
        {
            if (!after.Contains(d))
            {
                timers.Delete(d.Time, d.Clock);
            }
        }

        foreach (var d in after)
        {
            if (!before.Contains(d))
            {
                timers.Register(d.Time, d.Clock);
            }
        }
    }

    private static void Add(List<(long Time, TimerClock Clock)> due, (long Time, TimerClock Clock) deadline)
    {
        if (!due.Contains(deadline))
        {
            due.Add(deadline);
        }
    }

    /// <summary>Per-thread lists for the deadline sets: a set is a handful of entries, compared in place.</summary>
    private static class Lists
    {
        [ThreadStatic]
        private static List<(long, TimerClock)>? _before;

        [ThreadStatic]
        private static List<(long, TimerClock)>? _after;

        [ThreadStatic]
        private static List<(long, TimerClock)>? _probe;

        public static List<(long Time, TimerClock Clock)> Before => _before ??= [];

        public static List<(long Time, TimerClock Clock)> After => _after ??= [];

        public static List<(long Time, TimerClock Clock)> Probe => _probe ??= [];
    }

    private bool Matches(ZoneMatch match, string zone) =>
        match.Zone is { } name ? name == zone : match.Kind is { } kind && _kindOf(zone) == kind;

    private static int FindIndex<T>(IReadOnlyList<T> items, Func<T, bool> match)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (match(items[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private int IndexOf(string state)
    {
        var i = FindIndex(_definition.States, s => s.Name == state);
        return i >= 0 ? i : throw new InvalidOperationException($"workflow {_definition.Id} has no state '{state}'");
    }
}
