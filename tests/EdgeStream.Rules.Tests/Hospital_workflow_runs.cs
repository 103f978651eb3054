using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Workflows;

namespace EdgeStream.Rules.Tests;

/// <summary>
/// The shipped hospital flow run by <see cref="WorkflowMachine"/> for one patient, with a host that
/// keeps timers as the engine does (once per asset and time) and fires them as event time passes.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Hospital_workflow_runs
{
    private const long Min = 60_000_000;
    private const long T0 = 1_767_225_600_000_000;
    private static readonly Dictionary<string, string> Kinds = new()
    {
        ["waiting-room"] = "waiting-room",
        ["triage"] = "room",
        ["exam-1"] = "exam-room",
        ["exam-2"] = "exam-room",
        ["recovery"] = "room",
        ["main-exit"] = "exit",
    };

    private readonly WorkflowMachine _machine = new(
        WorkflowReader.Read(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json"))),
        z => Kinds.GetValueOrDefault(z));

    private readonly Timers _timers = new();
    private readonly List<WorkflowOutput> _out = [];

    [Fact]
    public void A_visit_runs_waiting_triage_exam_recovery_and_is_discharged_ten_minutes_after_leaving_recovery()
    {
        var run = _machine.Start(T0, _timers);
        Enter(ref run, "waiting-room", T0 + Min);
        Move(ref run, "waiting-room", "triage", T0 + (20 * Min));
        Move(ref run, "triage", "exam-1", T0 + (30 * Min));
        Move(ref run, "exam-1", "recovery", T0 + (50 * Min));
        Leave(ref run, "recovery", T0 + (110 * Min));
        Assert.Equal("recovery", _machine.StateOf(run));

        AdvanceTo(ref run, T0 + (119 * Min));
        Assert.Equal("recovery", _machine.StateOf(run));
        AdvanceTo(ref run, T0 + (121 * Min));

        Assert.Equal(
            ["arrived→waiting", "waiting→triage", "triage→exam", "exam→recovery", "recovery→discharged"],
            _out.OfType<StateChanged>().Select(s => $"{s.From}→{s.To}"));
        var discharged = _out.OfType<StateChanged>().Last();
        Assert.Equal(T0 + (120 * Min), discharged.AtUs);
        Assert.Empty(_out.OfType<AlertRaised>());
        Assert.True(_machine.IsOver(run));

        // Every timer the run asked for was fired or withdrawn: none is left behind.
        Assert.Empty(_timers.Pending);
    }

    [Fact]
    public void Waiting_more_than_45_minutes_raises_one_alert_that_clears_when_triage_starts()
    {
        var run = _machine.Start(T0, _timers);
        Enter(ref run, "waiting-room", T0);
        AdvanceTo(ref run, T0 + (44 * Min));
        Assert.Empty(_out.OfType<AlertRaised>());

        AdvanceTo(ref run, T0 + (90 * Min));
        var alert = Assert.Single(_out.OfType<AlertRaised>());
        Assert.Equal(("waiting-too-long", "waiting", AlertSeverity.Warning, T0 + (45 * Min)), (alert.AlertId, alert.State, alert.Severity, alert.AtUs));

        // The same deadline fired again (a replay, a duplicate timer) raises nothing more.
        _machine.OnTimer(ref run, T0 + (45 * Min), TimerClock.Event, _timers, _out);
        Assert.Single(_out.OfType<AlertRaised>());

        Move(ref run, "waiting-room", "triage", T0 + (95 * Min));
        Assert.Equal(("waiting-too-long", T0 + (95 * Min)), _out.OfType<AlertCleared>().Select(c => (c.AlertId, c.AtUs)).Single());
    }

    [Fact]
    public void Coming_back_to_recovery_within_ten_minutes_withdraws_the_discharge_and_a_stale_timer_does_nothing()
    {
        var run = ToRecovery(T0);
        Leave(ref run, "recovery", T0 + (60 * Min));
        Enter(ref run, "recovery", T0 + (65 * Min));
        Assert.DoesNotContain(T0 + (70 * Min), _timers.Pending.Select(p => p.Time));

        // A host that fired the old deadline anyway changes nothing.
        _machine.OnTimer(ref run, T0 + (70 * Min), TimerClock.Event, _timers, _out);
        AdvanceTo(ref run, T0 + (100 * Min));
        Assert.Equal("recovery", _machine.StateOf(run));

        // Two hours in recovery (from entering it at T0 + 30 min) raises its alert.
        AdvanceTo(ref run, T0 + (151 * Min));
        Assert.Equal("recovery-too-long", Assert.Single(_out.OfType<AlertRaised>()).AlertId);
    }

    [Fact]
    public void Walking_out_of_recovery_through_a_corridor_still_counts_as_leaving_recovery()
    {
        var run = ToRecovery(T0);
        Move(ref run, "recovery", "corridor", T0 + (60 * Min));
        Leave(ref run, "corridor", T0 + (61 * Min));
        AdvanceTo(ref run, T0 + (71 * Min));
        Assert.Equal("discharged", _machine.StateOf(run));
        Assert.Equal(T0 + (70 * Min), _out.OfType<StateChanged>().Last().AtUs);
    }

    [Fact]
    public void A_deadline_two_timers_share_stays_armed_while_one_still_needs_it()
    {
        // The alert (10 min in the state) and the absence (10 min after leaving at the same instant)
        // fall on the same time; coming back withdraws the absence, and the alert must still fire.
        var machine = new WorkflowMachine(
            WorkflowReader.Read("""
                {
                  "id": "shared", "version": 1, "assetType": "pump", "initial": "in-use",
                  "states": { "in-use": { "alerts": [ { "id": "check", "after": "10m" } ] }, "returned": { "final": true } },
                  "transitions": [ { "from": "in-use", "to": "returned", "on": { "leave": { "zone": "ward", "absentFor": "10m" } } } ]
                }
                """),
            _ => null);
        var timers = new Timers();
        var outputs = new List<WorkflowOutput>();
        var run = machine.Start(T0, timers);
        machine.OnEnter(ref run, "ward", T0, timers, outputs);
        machine.OnLeave(ref run, "ward", T0, timers, outputs);
        machine.OnEnter(ref run, "ward", T0 + Min, timers, outputs);
        foreach (var due in timers.Due(T0 + (11 * Min)))
        {
            machine.OnTimer(ref run, due.Time, due.Clock, timers, outputs);
        }

        Assert.Equal("check", Assert.Single(outputs.OfType<AlertRaised>()).AlertId);
        Assert.Equal("in-use", machine.StateOf(run));
    }

    [Fact]
    public void Leaving_through_an_exit_before_discharge_ends_as_left_without_discharge()
    {
        var run = _machine.Start(T0, _timers);
        Enter(ref run, "waiting-room", T0);
        Move(ref run, "waiting-room", "main-exit", T0 + (10 * Min));
        Assert.Equal("left-without-discharge", _machine.StateOf(run));
        Assert.Empty(_timers.Pending);

        // Nothing moves a run that is over.
        Enter(ref run, "triage", T0 + (20 * Min));
        _machine.OnManual(ref run, "discharge", T0 + (21 * Min), _timers, _out);
        Assert.Equal("left-without-discharge", _machine.StateOf(run));
    }

    [Fact]
    public void A_clinician_entering_triage_starts_the_exam_and_an_operator_can_discharge_from_anywhere()
    {
        var run = _machine.Start(T0, _timers);
        Enter(ref run, "triage", T0);
        _machine.OnPeerEnters(ref run, "clinician", T0 + Min, _timers, _out);
        Assert.Equal("exam", _machine.StateOf(run));
        Assert.Equal("clinician entered triage", _out.OfType<StateChanged>().Last().Cause);

        _machine.OnPeerEnters(ref run, "porter", T0 + (2 * Min), _timers, _out);
        Assert.Equal("exam", _machine.StateOf(run));
        _machine.OnManual(ref run, "discharge", T0 + (3 * Min), _timers, _out);
        Assert.Equal("discharged", _machine.StateOf(run));
        Assert.Empty(_timers.Pending);
    }

    [Fact]
    public void The_same_events_and_timers_give_the_same_outputs()
    {
        List<WorkflowOutput> Once()
        {
            var machine = new WorkflowMachine(_machine.Definition, z => Kinds.GetValueOrDefault(z));
            var timers = new Timers();
            var outputs = new List<WorkflowOutput>();
            var rng = new Random(3);
            var run = machine.Start(T0, timers);
            var zones = Kinds.Keys.ToArray();
            string? at = null;
            for (var t = T0; t < T0 + (600 * Min); t += rng.Next(1, 30) * Min)
            {
                foreach (var due in timers.Due(t))
                {
                    machine.OnTimer(ref run, due.Time, due.Clock, timers, outputs);
                }

                var next = zones[rng.Next(zones.Length)];
                if (at is not null)
                {
                    machine.OnLeave(ref run, at, t, timers, outputs);
                }

                machine.OnEnter(ref run, next, t, timers, outputs);
                at = next;
            }

            return outputs;
        }

        var first = Once();
        Assert.NotEmpty(first);
        Assert.Equal(first, Once());
    }

    private WorkflowRun ToRecovery(long t)
    {
        var run = _machine.Start(t, _timers);
        Enter(ref run, "waiting-room", t);
        Move(ref run, "waiting-room", "triage", t + (10 * Min));
        Move(ref run, "triage", "exam-1", t + (20 * Min));
        Move(ref run, "exam-1", "recovery", t + (30 * Min));
        return run;
    }

    private void Enter(ref WorkflowRun run, string zone, long t)
    {
        AdvanceTo(ref run, t);
        _machine.OnEnter(ref run, zone, t, _timers, _out);
    }

    private void Leave(ref WorkflowRun run, string zone, long t)
    {
        AdvanceTo(ref run, t);
        _machine.OnLeave(ref run, zone, t, _timers, _out);
    }

    private void Move(ref WorkflowRun run, string from, string to, long t)
    {
        Leave(ref run, from, t);
        _machine.OnEnter(ref run, to, t, _timers, _out);
    }

    /// <summary>Event time passes <paramref name="t"/>: every timer due by then fires, in time order.</summary>
    private void AdvanceTo(ref WorkflowRun run, long t)
    {
        foreach (var due in _timers.Due(t))
        {
            _machine.OnTimer(ref run, due.Time, due.Clock, _timers, _out);
        }
    }

    /// <summary>Timers as the engine keeps them: a set of (time, clock), once each.</summary>
    private sealed class Timers : IWorkflowTimers
    {
        private readonly SortedSet<(long Time, TimerClock Clock)> _pending = [];

        public IReadOnlyCollection<(long Time, TimerClock Clock)> Pending => _pending;

        public void Register(long timeUs, TimerClock clock) => _pending.Add((timeUs, clock));

        public void Delete(long timeUs, TimerClock clock) => _pending.Remove((timeUs, clock));

        public IEnumerable<(long Time, TimerClock Clock)> Due(long t)
        {
            while (_pending.Count > 0 && _pending.Min is var first && first.Time <= t)
            {
                _pending.Remove(first);
                yield return first;
            }
        }
    }
}
