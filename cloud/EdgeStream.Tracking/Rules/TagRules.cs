using EdgeStream.Contracts;
using EdgeStream.Engine;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Workflows;

namespace EdgeStream.Tracking.Rules;

/// <summary>
/// Runs rules inside the tracking job: each tag's runs of the rules that watch its asset live in its keyed
/// state (<see cref="TagState.Rules"/>) and their deadlines in the engine's timers, so both are
/// checkpointed with the task; after a crash a pending deadline fires once, from the checkpoint, and the
/// alerts it gives carry the same ids as before.
/// </summary>
/// <remarks>
/// <para>A rule watches registered assets that its selector matches at the event's time; a tag that
/// belongs to no registered asset runs no rule. Each event or timer takes the version in effect at its
/// own time, and a run on another version is moved onto it first (<see cref="RuleMachine.Adopt"/>). A
/// run of a rule that is removed, or that the asset no longer matches, ends at the tag's next event:
/// its deadline is withdrawn and its open alert clears.</para>
/// <para>Only placements that move the tag now drive rules, as they drive workflows; reads count as
/// sightings for <c>missing</c> only, and only when some rule has that pattern.</para>
/// </remarks>
public sealed class TagRules
{
    [ThreadStatic]
    private static Scratch? _scratch;

    private readonly Func<Epc, AssetProfile?> _profileOf;
    private RuleCatalog _catalog;

    /// <summary>Creates the host over a catalog; <paramref name="profileOf"/> gives the registered asset a tag belongs to (null: none).</summary>
    public TagRules(RuleCatalog catalog, Func<Epc, AssetProfile?> profileOf)
    {
        _catalog = catalog;
        _profileOf = profileOf;
    }

    /// <summary>The rules in force; set a new catalog to add, change or remove a rule (read by every task at its next event).</summary>
    public RuleCatalog Catalog
    {
        get => Volatile.Read(ref _catalog);
        set => Volatile.Write(ref _catalog, value);
    }

    /// <summary>The workflows that share the tags' timers (a deadline both want is withdrawn only when neither does).</summary>
    internal TagWorkflows? Workflows { get; set; }

    /// <summary>True when one of <paramref name="runs"/> waits for a deadline at <paramref name="timeUs"/> on <paramref name="clock"/>, other than <paramref name="except"/>'s.</summary>
    internal static bool Waits(ReadOnlySpan<RuleRun> runs, long timeUs, TimerClock clock, string? except = null)
    {
        foreach (ref readonly var r in runs)
        {
            if (r.DeadlineUs == timeUs && r.Clock == clock && r.RuleId != except)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The tag moved from <paramref name="left"/> to <paramref name="entered"/> (either null) at <paramref name="atUs"/>.</summary>
    internal void OnPlacement(ref TagState state, string? left, string? entered, long atUs, int gateway, KeyedContext<Epc, TrackingOutput> context)
    {
        if (left is not null)
        {
            Dispatch(ref state, RuleInputKind.Leave, left, atUs, gateway, context);
        }

        if (entered is not null)
        {
            Dispatch(ref state, RuleInputKind.Enter, entered, atUs, gateway, context);
        }
    }

    /// <summary>A person's action for the tag (<c>checkout</c>) at <paramref name="atUs"/>.</summary>
    internal void OnAction(ref TagState state, string action, long atUs, int gateway, KeyedContext<Epc, TrackingOutput> context) =>
        Dispatch(ref state, RuleInputKind.Action, action, atUs, gateway, context);

    /// <summary>The tag was seen at <paramref name="atUs"/> (after <see cref="TagState.LastSeenUs"/> took it in); reaches only rules that count sightings.</summary>
    internal void OnSeen(ref TagState state, long atUs, int gateway, KeyedContext<Epc, TrackingOutput> context)
    {
        if (Catalog.WatchesSightings)
        {
            Dispatch(ref state, RuleInputKind.Seen, null, atUs, gateway, context);
        }
    }

    /// <summary>A timer of the tag fired: every run waiting for it acts.</summary>
    internal void OnTimer(TimerDomain domain, ref TagState state, KeyedContext<Epc, TrackingOutput> context)
    {
        if (state.Rules is null)
        {
            return;
        }

        var clock = domain == TimerDomain.EventTime ? TimerClock.Event : TimerClock.Processing;
        var time = context.Timestamp;
        var catalog = Catalog;
        var s = Begin(context, state);
        var runs = state.Rules;
        for (var i = 0; i < runs.Length; i++)
        {
            if (runs[i].DeadlineUs != time || runs[i].Clock != clock)
            {
                continue;
            }

            s.Timers.Own = runs[i].RuleId;
            if (Current(catalog, ref runs[i], time, state.LastSeenUs, s) is not { } version)
            {
                Retire(catalog, ref runs[i], time, "rule removed", s, context);
                continue;
            }

            version.Machine.OnTimer(ref runs[i], time, clock, state.LastSeenUs, s.Timers, s.Outputs);
            Emit(version, s, NameTable.None, context);
        }

        Tidy(ref state, s.Added);

        End(s);
    }

    /// <summary>
    /// Hands the input to the rules it concerns, walking two lists in rule id order together: the rules the
    /// input may start (the catalog's index by zone, kind and action; for a sighting, the rules that count
    /// sightings) and the tag's runs. A rule with neither a run nor a reason to start is not visited, which
    /// is most of the rules for most events. Unless the input is a sighting, a run whose rule no longer
    /// watches the asset (removed, or the asset changed) is retired on the way.
    /// </summary>
    private void Dispatch(ref TagState state, RuleInputKind kind, string? subject, long atUs, int gateway, KeyedContext<Epc, TrackingOutput> context)
    {
        var catalog = Catalog;
        if (catalog.IsEmpty && state.Rules is null)
        {
            return;
        }

        var profile = _profileOf(context.Key);
        if (profile is null && state.Rules is null)
        {
            return;
        }

        var seen = kind == RuleInputKind.Seen;
        var startable = profile is null ? []
            : seen ? catalog.SightingCandidates(profile.Type)
            : catalog.Startable(profile.Type, kind, subject!, kind == RuleInputKind.Action ? null : catalog.KindOf(subject!));
        var runs = state.Rules;
        var runCount = runs?.Length ?? 0;
        var s = Begin(context, state);
        var added = s.Added;
        var changed = false;
        int i = 0, j = 0;
        while (i < startable.Length || j < runCount)
        {
            var c = i == startable.Length ? 1 : j == runCount ? -1 : string.CompareOrdinal(startable[i][0].Definition.Id, runs![j].RuleId);
            var has = c >= 0;
            var versions = c <= 0 ? startable[i++] : null;
            if (has && versions is null)
            {
                // A run of a rule this input cannot start: it still sees the input, unless it is a sighting.
                if (seen)
                {
                    j++;
                    continue;
                }

                versions = catalog.VersionsOf(runs![j].RuleId);
                if (versions is null)
                {
                    changed |= Retire(catalog, ref runs[j++], atUs, "rule unknown", s, context);
                    continue;
                }
            }

            var version = RuleCatalog.At(versions!, atUs);
            var id = version.Definition.Id;
            if (profile is null || !version.Definition.Enabled || !version.Definition.Assets.Matches(profile.Type, profile.Attributes))
            {
                if (has)
                {
                    var reason = profile is null ? "the asset is no longer registered" : version.Definition.Enabled ? "the asset no longer matches the rule" : "rule removed";
                    changed |= !seen && Retire(catalog, ref runs![j], atUs, reason, s, context);
                    j++;
                }

                continue;
            }

            var run = has ? runs![j] : new RuleRun { RuleId = id, Version = version.Definition.Version };
            if (has && run.Version != version.Definition.Version)
            {
                Current(catalog, ref run, atUs, state.LastSeenUs, s);
            }

            s.Timers.Own = id;
            version.Machine.OnInput(ref run, kind, subject, atUs, state.LastSeenUs, s.Timers, s.Outputs);
            if (has)
            {
                runs![j++] = run; // an emptied run stays in place, so that the rule re-arming it allocates nothing
            }
            else if (!run.IsEmpty)
            {
                added.Add(run);
            }

            Emit(version, s, gateway, context);
        }

        if (changed || added.Count > 0)
        {
            state.Rules = Merge(runs, added);
        }
        else
        {
            Tidy(ref state, added);
        }

        End(s);
    }

    /// <summary>Ends a run whose rule no longer watches the asset; true when there was something to end.</summary>
    private static bool Retire(RuleCatalog catalog, ref RuleRun run, long atUs, string reason, Scratch s, KeyedContext<Epc, TrackingOutput> context)
    {
        if (run.IsEmpty)
        {
            return false;
        }

        if (catalog.Get(run.RuleId, run.Version) is not { } older)
        {
            run = new RuleRun { RuleId = run.RuleId, Version = run.Version }; // a rule this catalog never had: nothing to withdraw it with
            return true;
        }

        s.Timers.Own = run.RuleId;
        older.Machine.Retire(ref run, atUs, s.Timers, s.Outputs, reason);
        Emit(older, s, NameTable.None, context);
        return true;
    }

    /// <summary>
    /// Drops emptied runs once they are most of the tag's runs: until then they stay in place (in id order),
    /// so that a rule that arms and clears a run at every visit does not allocate each time.
    /// </summary>
    private static void Tidy(ref TagState state, List<RuleRun> added)
    {
        if (state.Rules is not { } runs)
        {
            return;
        }

        var empty = 0;
        foreach (var r in runs)
        {
            empty += r.IsEmpty ? 1 : 0;
        }

        if (empty * 2 > runs.Length)
        {
            state.Rules = Merge(runs, added);
        }
    }

    /// <summary>The runs that still hold something, with <paramref name="added"/> (in candidate order, so in id order) merged in; null for none.</summary>
    private static RuleRun[]? Merge(RuleRun[]? runs, List<RuleRun> added)
    {
        var kept = added.Count;
        foreach (var r in runs ?? [])
        {
            kept += r.IsEmpty ? 0 : 1;
        }

        if (kept == 0)
        {
            return null;
        }

        var merged = new RuleRun[kept];
        int i = 0, a = 0, m = 0;
        while (m < kept)
        {
            if (runs is not null && i < runs.Length && runs[i].IsEmpty)
            {
                i++;
            }
            else if (runs is not null && i < runs.Length && (a == added.Count || string.CompareOrdinal(runs[i].RuleId, added[a].RuleId) < 0))
            {
                merged[m++] = runs[i++];
            }
            else
            {
                merged[m++] = added[a++];
            }
        }

        return merged;
    }

    /// <summary>The version of the run's rule in effect at <paramref name="atUs"/>, with the run moved onto it when it followed another.</summary>
    private static RuleVersion? Current(RuleCatalog catalog, ref RuleRun run, long atUs, long lastSeenUs, Scratch s)
    {
        var version = catalog.ForId(run.RuleId, atUs);
        if (version is null || !version.Definition.Enabled)
        {
            return null;
        }

        if (version.Definition.Version != run.Version)
        {
            s.Timers.Own = run.RuleId;
            if (catalog.Get(run.RuleId, run.Version) is { } older)
            {
                version.Machine.Adopt(older.Machine, ref run, atUs, lastSeenUs, s.Timers, s.Outputs);
            }

            run.Version = version.Definition.Version;
        }

        return version;
    }

    private Scratch Begin(KeyedContext<Epc, TrackingOutput> context, in TagState state)
    {
        var s = _scratch ??= new Scratch();
        s.Outputs.Clear();
        s.Added.Clear(); // the buffers are this thread's, shared by every tag it runs
        var t = s.Timers;
        t.Context = context;
        t.Workflows = Workflows;
        t.OverrideUntilUs = state.OverrideUntilUs;
        t.Runs = state.Rules;
        t.Added = s.Added;
        t.WorkflowId = state.WorkflowId;
        t.WorkflowVersion = state.WorkflowVersion;
        t.Workflow = state.Workflow;
        return s;
    }

    private static void End(Scratch s)
    {
        s.Added.Clear();
        var t = s.Timers;
        t.Context = null;
        t.Runs = null;
        t.WorkflowId = null;
        t.Workflow = default;
    }

    private static void Emit(RuleVersion? version, Scratch s, int gateway, KeyedContext<Epc, TrackingOutput> context)
    {
        foreach (var o in s.Outputs)
        {
            context.Emit(new TrackingOutput
            {
                Kind = TrackingOutputKind.Workflow,
                TimeUs = o.AtUs,
                Gateway = gateway,
                Zone = NameTable.None,
                Left = NameTable.None,
                Step = new WorkflowStep(version!.Definition.Id, version.Definition.Version, o) { Rule = true },
            });
        }

        s.Outputs.Clear();
    }

    /// <summary>Per-thread buffers: the job runs on every task's thread at once.</summary>
    private sealed class Scratch
    {
        public List<WorkflowOutput> Outputs { get; } = [];

        /// <summary>Runs that an input started, merged into the tag's runs at the end of the pass.</summary>
        public List<RuleRun> Added { get; } = [];

        public RuleTimers Timers { get; } = new();
    }

    /// <summary>The machines' timers as the current key's engine timers, withdrawn only when nothing else of the tag waits for the same instant.</summary>
    private sealed class RuleTimers : IWorkflowTimers
    {
        public KeyedContext<Epc, TrackingOutput>? Context { get; set; }

        public TagWorkflows? Workflows { get; set; }

        // What of the tag's state decides whether a timer is still wanted: its override's end, its rule
        // runs, and its workflow run (which do not change while rules run).
        public long OverrideUntilUs { get; set; }

        public RuleRun[]? Runs { get; set; }

        public List<RuleRun>? Added { get; set; }

        public string? WorkflowId { get; set; }

        public int WorkflowVersion { get; set; }

        public WorkflowRun Workflow { get; set; }

        /// <summary>The rule whose run asks (its own deadline does not keep a timer it withdraws).</summary>
        public string? Own { get; set; }

        public void Register(long timeUs, TimerClock clock)
        {
            if (clock == TimerClock.Event)
            {
                Context!.RegisterEventTimer(timeUs);
            }
            else
            {
                Context!.RegisterProcessingTimer(timeUs);
            }
        }

        public void Delete(long timeUs, TimerClock clock)
        {
            if ((clock == TimerClock.Processing && OverrideUntilUs == timeUs)
                || Waits(Runs, timeUs, clock, Own)
                || (Added is { } added && Waits(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(added), timeUs, clock, Own))
                || (WorkflowId is { } id && Workflows is { } w && w.Waits(id, WorkflowVersion, Workflow, timeUs, clock)))
            {
                return;
            }

            if (clock == TimerClock.Event)
            {
                Context!.DeleteEventTimer(timeUs);
            }
            else
            {
                Context!.DeleteProcessingTimer(timeUs);
            }
        }
    }
}
