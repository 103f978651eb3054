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
    internal static bool Waits(RuleRun[]? runs, long timeUs, TimerClock clock, string? except = null)
    {
        if (runs is null)
        {
            return false;
        }

        foreach (ref readonly var r in runs.AsSpan())
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

            var run = runs[i];
            s.Timers.Own = run.RuleId;
            var version = Current(catalog, ref run, time, state.LastSeenUs, s);
            if (version is not null)
            {
                version.Machine.OnTimer(ref run, time, clock, state.LastSeenUs, s.Timers, s.Outputs);
            }
            else if ((version = catalog.Get(run.RuleId, run.Version)) is not null)
            {
                version.Machine.Retire(ref run, time, s.Timers, s.Outputs, "rule removed");
            }

            runs[i] = run;
            Emit(version, s, NameTable.None, context);
        }

        Compact(ref state);
        End(s);
    }

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

        var s = Begin(context, state);
        if (kind != RuleInputKind.Seen)
        {
            RetireStale(ref state, catalog, profile, atUs, s, context);
        }

        if (profile is not null)
        {
            foreach (var versions in catalog.Candidates(profile.Type))
            {
                if (RuleCatalog.At(versions, atUs) is not { Definition.Enabled: true } version
                    || !version.Definition.Assets.Matches(profile.Type, profile.Attributes)
                    || (kind == RuleInputKind.Seen && !version.Machine.WatchesSightings))
                {
                    continue;
                }

                var i = IndexOf(state.Rules, version.Definition.Id);
                var run = i >= 0 ? state.Rules![i] : new RuleRun { RuleId = version.Definition.Id, Version = version.Definition.Version };
                if (i >= 0 && run.Version != version.Definition.Version)
                {
                    Current(catalog, ref run, atUs, state.LastSeenUs, s);
                }

                s.Timers.Own = run.RuleId;
                version.Machine.OnInput(ref run, kind, subject, atUs, state.LastSeenUs, s.Timers, s.Outputs);
                Store(ref state, i, run);
                s.Timers.State = state;
                Emit(version, s, gateway, context);
            }
        }

        Compact(ref state);
        End(s);
    }

    /// <summary>Ends the runs of rules that are removed at <paramref name="atUs"/>, or that the asset no longer matches.</summary>
    private static void RetireStale(ref TagState state, RuleCatalog catalog, AssetProfile? profile, long atUs, Scratch s, KeyedContext<Epc, TrackingOutput> context)
    {
        if (state.Rules is not { } runs)
        {
            return;
        }

        for (var i = 0; i < runs.Length; i++)
        {
            var version = catalog.ForId(runs[i].RuleId, atUs);
            var older = catalog.Get(runs[i].RuleId, runs[i].Version) ?? version;
            if (older is null)
            {
                runs[i] = default; // a rule this catalog never had: nothing to withdraw it with
                continue;
            }

            var reason = version is null || !version.Definition.Enabled ? "rule removed"
                : profile is null || !version.Definition.Assets.Matches(profile.Type, profile.Attributes) ? "the asset no longer matches the rule"
                : null;
            if (reason is null)
            {
                continue;
            }

            var run = runs[i];
            s.Timers.Own = run.RuleId;
            older.Machine.Retire(ref run, atUs, s.Timers, s.Outputs, reason);
            runs[i] = run;
            Emit(older, s, NameTable.None, context);
        }
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

    private static int IndexOf(RuleRun[]? runs, string id)
    {
        if (runs is null)
        {
            return -1;
        }

        for (var i = 0; i < runs.Length; i++)
        {
            if (runs[i].RuleId == id)
            {
                return i;
            }
        }

        return -1;
    }

    private static void Store(ref TagState state, int i, in RuleRun run)
    {
        if (i >= 0)
        {
            state.Rules![i] = run;
        }
        else if (!run.IsEmpty)
        {
            state.Rules = state.Rules is null ? [run] : [.. state.Rules, run];
        }
    }

    /// <summary>Drops runs that hold nothing, so that a tag's state stays as small as what is pending.</summary>
    private static void Compact(ref TagState state)
    {
        if (state.Rules is not { } runs)
        {
            return;
        }

        var kept = 0;
        foreach (var r in runs)
        {
            kept += r.IsEmpty || r.RuleId is null ? 0 : 1;
        }

        if (kept == runs.Length)
        {
            return;
        }

        state.Rules = kept == 0 ? null : [.. runs.Where(r => !r.IsEmpty && r.RuleId is not null)];
    }

    private Scratch Begin(KeyedContext<Epc, TrackingOutput> context, in TagState state)
    {
        var s = _scratch ??= new Scratch();
        s.Outputs.Clear();
        s.Timers.Context = context;
        s.Timers.Shared = this;
        s.Timers.State = state;
        return s;
    }

    private static void End(Scratch s)
    {
        s.Timers.Context = null;
        s.Timers.State = default;
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

        public RuleTimers Timers { get; } = new();
    }

    /// <summary>The machines' timers as the current key's engine timers, withdrawn only when nothing else of the tag waits for the same instant.</summary>
    private sealed class RuleTimers : IWorkflowTimers
    {
        public KeyedContext<Epc, TrackingOutput>? Context { get; set; }

        public TagRules? Shared { get; set; }

        /// <summary>The tag's state as it was when the rules began (its workflow run and override do not change while rules run).</summary>
        public TagState State { get; set; }

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
            var state = State;
            if ((clock == TimerClock.Processing && state.OverrideUntilUs == timeUs)
                || Waits(state.Rules, timeUs, clock, Own)
                || (Shared?.Workflows?.Waits(state, timeUs, clock) ?? false))
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
