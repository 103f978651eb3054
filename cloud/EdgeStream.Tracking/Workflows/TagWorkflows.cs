using EdgeStream.Contracts;
using EdgeStream.Engine;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Rules;

namespace EdgeStream.Tracking.Workflows;

/// <summary>
/// Runs workflows inside the tracking job: each tag's run lives in its keyed state and its deadlines in
/// the engine's timers, so both are checkpointed with the task and restored after a crash (a timer then
/// fires once, from the checkpoint, and the outputs it gives carry the same ids as before).
/// </summary>
/// <remarks>
/// <para>A run starts at the first placement the job makes while the tag belongs to an asset whose type
/// has a workflow (<see cref="WorkflowCatalog.ForType"/> at the placement's time). A run that reached a
/// final state starts again at the tag's next arrival from nowhere (a new visit).</para>
/// <para>Only placements that move the tag now drive runs: an event spliced into history behind newer
/// ones (late) does not rewind a workflow.</para>
/// <para>The catalog is swapped whole (<see cref="Catalog"/>); each event or timer takes the version in
/// effect at its own time, and a run on an older version is moved onto it first
/// (<see cref="WorkflowMachine.Adopt"/>).</para>
/// </remarks>
public sealed class TagWorkflows
{
    [ThreadStatic]
    private static Scratch? _scratch;

    private readonly Func<Epc, string?> _typeOf;
    private WorkflowCatalog _catalog;

    /// <summary>Creates the host over a catalog; <paramref name="typeOf"/> gives the type of the asset a tag belongs to (null: none or unregistered).</summary>
    public TagWorkflows(WorkflowCatalog catalog, Func<Epc, string?> typeOf)
    {
        _catalog = catalog;
        _typeOf = typeOf;
    }

    /// <summary>The definitions in force; set a new catalog to add a version (read by every task at its next event).</summary>
    public WorkflowCatalog Catalog
    {
        get => Volatile.Read(ref _catalog);
        set => Volatile.Write(ref _catalog, value);
    }

    /// <summary>The tag moved from <paramref name="left"/> to <paramref name="entered"/> (either null) at <paramref name="atUs"/>.</summary>
    internal void OnPlacement(ref TagState state, string? left, string? entered, long atUs, int gateway, KeyedContext<Epc, TrackingOutput> context)
    {
        var catalog = Catalog;
        if (catalog.IsEmpty)
        {
            return;
        }

        var s = Begin(context, state);
        WorkflowVersion? version;
        if (state.WorkflowId is null || (left is null && entered is not null && IsOver(catalog, state)))
        {
            version = _typeOf(context.Key) is { } type ? catalog.ForType(type, atUs) : null;
            if (version is null)
            {
                return;
            }

            state.WorkflowId = version.Definition.Id;
            state.WorkflowVersion = version.Definition.Version;
            state.Workflow = version.Machine.Start(atUs, s.Timers);
            s.Outputs.Add(new StateChanged(null, version.Definition.Initial, atUs, entered is null ? "started" : $"started: entered {entered}"));
        }
        else if ((version = Current(catalog, ref state, atUs, s)) is null)
        {
            return;
        }

        if (left is not null)
        {
            version.Machine.OnLeave(ref state.Workflow, left, atUs, s.Timers, s.Outputs);
        }

        if (entered is not null)
        {
            version.Machine.OnEnter(ref state.Workflow, entered, atUs, s.Timers, s.Outputs);
        }

        Emit(version, s, gateway, context);
    }

    /// <summary>A person's action for the tag's run (<c>discharge</c>) at <paramref name="atUs"/>.</summary>
    internal void OnManual(ref TagState state, string action, string by, long atUs, int gateway, KeyedContext<Epc, TrackingOutput> context)
    {
        if (state.WorkflowId is null)
        {
            return;
        }

        var s = Begin(context, state);
        if (Current(Catalog, ref state, atUs, s) is not { } version)
        {
            return;
        }

        version.Machine.OnManual(ref state.Workflow, action, atUs, s.Timers, s.Outputs, by);
        Emit(version, s, gateway, context);
    }

    /// <summary>An asset of <paramref name="peerType"/> entered the tag's zone at <paramref name="atUs"/> (<c>peerEnters</c>).</summary>
    internal void OnPeer(ref TagState state, string peerType, long atUs, int gateway, KeyedContext<Epc, TrackingOutput> context)
    {
        if (state.WorkflowId is null)
        {
            return;
        }

        var s = Begin(context, state);
        if (Current(Catalog, ref state, atUs, s) is not { } version)
        {
            return;
        }

        version.Machine.OnPeerEnters(ref state.Workflow, peerType, atUs, s.Timers, s.Outputs);
        Emit(version, s, gateway, context);
    }

    /// <summary>A workflow timer of the tag fired.</summary>
    internal void OnTimer(TimerDomain domain, ref TagState state, KeyedContext<Epc, TrackingOutput> context)
    {
        if (state.WorkflowId is null)
        {
            return;
        }

        var s = Begin(context, state);
        var time = context.Timestamp;
        if (Current(Catalog, ref state, time, s) is not { } version)
        {
            return;
        }

        version.Machine.OnTimer(ref state.Workflow, time, domain == TimerDomain.EventTime ? TimerClock.Event : TimerClock.Processing, s.Timers, s.Outputs);
        Emit(version, s, NameTable.None, context);
    }

    /// <summary>True when the tag's workflow run waits for a deadline at <paramref name="timeUs"/> on <paramref name="clock"/>.</summary>
    internal bool Waits(in TagState state, long timeUs, TimerClock clock) =>
        state.WorkflowId is { } id && Waits(id, state.WorkflowVersion, state.Workflow, timeUs, clock);

    /// <summary>True when a run of version <paramref name="version"/> of <paramref name="workflowId"/> waits for a deadline at <paramref name="timeUs"/> on <paramref name="clock"/>.</summary>
    internal bool Waits(string workflowId, int version, in WorkflowRun run, long timeUs, TimerClock clock) =>
        Catalog.Get(workflowId, version) is { } v && v.Machine.Waits(run, timeUs, clock);

    private static bool IsOver(WorkflowCatalog catalog, in TagState state) =>
        catalog.Get(state.WorkflowId!, state.WorkflowVersion) is { } v && v.Machine.IsOver(state.Workflow);

    private static Scratch Begin(KeyedContext<Epc, TrackingOutput> context, in TagState state)
    {
        var s = _scratch ??= new Scratch();
        s.Outputs.Clear();
        s.Timers.Context = context;
        s.Timers.OverrideUntilUs = state.OverrideUntilUs;
        s.Timers.Rules = state.Rules;
        return s;
    }

    /// <summary>The version in effect at <paramref name="atUs"/>, with the run moved onto it when it followed another.</summary>
    private static WorkflowVersion? Current(WorkflowCatalog catalog, ref TagState state, long atUs, Scratch s)
    {
        if (catalog.ForId(state.WorkflowId!, atUs) is not { } version)
        {
            return null;
        }

        if (version.Definition.Version != state.WorkflowVersion)
        {
            // The version the run followed is gone only if the catalog was rebuilt without it; then the
            // run starts afresh on this one.
            if (catalog.Get(state.WorkflowId!, state.WorkflowVersion) is { } older)
            {
                version.Machine.Adopt(older.Machine, ref state.Workflow, atUs, s.Timers, s.Outputs);
            }
            else
            {
                state.Workflow = version.Machine.Start(atUs, s.Timers);
                s.Outputs.Add(new StateChanged(null, version.Definition.Initial, atUs, $"version {state.WorkflowVersion} is unknown here"));
            }

            state.WorkflowVersion = version.Definition.Version;
        }

        return version;
    }

    private static void Emit(WorkflowVersion version, Scratch s, int gateway, KeyedContext<Epc, TrackingOutput> context)
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
                Step = new WorkflowStep(version.Definition.Id, version.Definition.Version, o),
            });
        }

        s.Outputs.Clear();
        s.Timers.Context = null;
    }

    /// <summary>Per-thread buffers: the job runs on every task's thread at once.</summary>
    private sealed class Scratch
    {
        public List<WorkflowOutput> Outputs { get; } = [];

        public EngineTimers Timers { get; } = new();
    }

    /// <summary>The machine's timers as the current key's engine timers.</summary>
    private sealed class EngineTimers : IWorkflowTimers
    {
        public KeyedContext<Epc, TrackingOutput>? Context { get; set; }

        /// <summary>The processing-time timer of the tag's override, which a workflow's deadline at the same instant must not withdraw.</summary>
        public long OverrideUntilUs { get; set; }

        /// <summary>The tag's rule runs, whose deadlines a workflow's at the same instant must not withdraw.</summary>
        public RuleRun[]? Rules { get; set; }

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
            if (TagRules.Waits(Rules, timeUs, clock))
            {
                return;
            }

            if (clock == TimerClock.Event)
            {
                Context!.DeleteEventTimer(timeUs);
            }
            else if (timeUs != OverrideUntilUs)
            {
                Context!.DeleteProcessingTimer(timeUs);
            }
        }
    }
}
