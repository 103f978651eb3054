using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.Io;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Workflows;

namespace EdgeStream.Tracking.Tests;

/// <summary>The hospital flow run by the tracking job on a real engine task: keyed state, event-time timers, checkpoints.</summary>
[Trait("Capability", "Rules")]
public sealed class Workflows_in_the_tracking_job
{
    internal const long T0 = 1_767_225_600_000_000;
    internal const long Min = 60_000_000;
    internal static readonly Epc Ann = Epc.ParseHex("30340242201D8840009EFA01");
    internal static readonly Epc Ben = Epc.ParseHex("30340242201D8840009EFA02");
    internal static readonly Epc Clock = Epc.ParseHex("30340242201D8840009EFCCC");
    internal static readonly Dictionary<string, string> Kinds = new() { ["waiting-room"] = "waiting-room", ["triage"] = "room", ["exam-1"] = "exam-room", ["recovery"] = "room", ["main-exit"] = "exit" };
    internal static readonly WorkflowDefinition Hospital = WorkflowReader.Read(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json")));

    [Fact]
    public void A_visit_is_tracked_state_by_state_and_discharge_fires_from_the_watermark_ten_minutes_after_leaving_recovery()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0);
        run.Place(Ann, "triage", T0 + (20 * Min));
        run.Place(Ann, "exam-1", T0 + (30 * Min));
        run.Place(Ann, "recovery", T0 + (50 * Min));
        run.Depart(Ann, "recovery", T0 + (60 * Min));
        run.Tick(T0 + (69 * Min));
        Assert.Equal("recovery", run.Steps(Ann).OfType<StateChanged>().Last().To);

        run.Tick(T0 + (71 * Min));
        Assert.Equal(
            ["→arrived", "arrived→waiting", "waiting→triage", "triage→exam", "exam→recovery", "recovery→discharged"],
            run.Steps(Ann).OfType<StateChanged>().Select(s => $"{s.From}→{s.To}"));
        Assert.Equal(T0 + (70 * Min), run.Steps(Ann).Last().AtUs);
        Assert.True(run.Task.TryGetState(Ann, out var state));
        Assert.Equal(("hospital-patient", 1), (state.WorkflowId, state.WorkflowVersion));

        // A tag whose asset has no workflow runs none.
        Assert.Empty(run.Steps(Clock));
    }

    [Fact]
    public void A_peer_entering_the_patients_room_moves_the_workflow_only_while_the_patient_is_still_there()
    {
        var run = new JobRun();
        run.Place(Ann, "triage", T0);
        run.Place(Ben, "triage", T0);
        run.Place(Ben, "corridor", T0 + (2 * Min));

        // The zone stage saw the clinician enter triage at T0 + 1 min with both patients in it; the
        // events reach the patients' keys after their own later ones.
        run.Manual(Ann, ManualKind.Peer, T0 + Min, zone: "triage", action: "clinician", by: "30340242201D8840009EFD01");
        run.Manual(Ben, ManualKind.Peer, T0 + Min, zone: "triage", action: "clinician", by: "30340242201D8840009EFD01");
        run.Manual(Ann, ManualKind.Peer, T0 + Min, zone: "triage", action: "porter", by: "30340242201D8840009EFE01");
        run.Tick(T0 + (3 * Min));
        run.WallClock(T0 + (3 * Min) + 6_000_000); // the source of these events is behind: it releases them once idle
        Assert.Equal(["→arrived", "arrived→triage", "triage→exam"], run.Steps(Ann).OfType<StateChanged>().Select(s => $"{s.From}→{s.To}"));
        Assert.Equal("clinician entered triage", run.Steps(Ann).OfType<StateChanged>().Last().Cause);
        Assert.Equal(["→arrived", "arrived→triage"], run.Steps(Ben).OfType<StateChanged>().Select(s => $"{s.From}→{s.To}"));
        Assert.Equal(["triage"], run.Placements(Ann)); // a peer's entering never moves the tag
    }

    [Fact]
    public void An_event_time_alert_waits_for_the_patients_gateway_however_far_ahead_another_gateway_is()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0, gateway: "front-desk");
        run.Tick(T0 + (30 * Min), gateway: "front-desk");

        // The care wing's data runs an hour ahead; the front desk's (Ann's) is at 30 min.
        run.Tick(T0 + (90 * Min), gateway: "care-wing");
        Assert.Empty(run.Steps(Ann).OfType<AlertRaised>());

        run.Tick(T0 + (50 * Min), gateway: "front-desk");
        var alert = Assert.Single(run.Steps(Ann).OfType<AlertRaised>());
        Assert.Equal(("waiting-too-long", T0 + (45 * Min)), (alert.AlertId, alert.AtUs));
    }

    [Fact]
    public void A_worker_restored_from_a_checkpoint_with_a_timer_pending_fires_it_once_with_the_same_output_id()
    {
        var whole = new JobRun();
        whole.Place(Ann, "waiting-room", T0);
        whole.Tick(T0 + (20 * Min));
        var snapshot = whole.Task.BeginCheckpoint(1);
        using var writer = new SnapshotWriter();
        whole.Task.WriteCheckpoint(snapshot, writer);
        whole.Task.ReleaseSnapshot(snapshot);
        var before = whole.Sink.Snapshot().Select(o => o.Id).ToHashSet();
        whole.Tick(T0 + (60 * Min));

        // The worker died after the checkpoint (kill -9: nothing of it survives but the checkpoint); another restores it and reads on.
        var restored = new JobRun();
        restored.Task.Restore(writer.WrittenSpan);
        restored.Offset = whole.Offset - 1;
        restored.Tick(T0 + (60 * Min));

        var expected = whole.Sink.Snapshot().Where(o => !before.Contains(o.Id) && o.Value.Step is not null).Select(o => (o.Id, o.Value.Step!.What)).ToList();
        var replayed = restored.Sink.Snapshot().Where(o => o.Value.Step is not null).Select(o => (o.Id, o.Value.Step!.What)).ToList();
        Assert.Single(expected, e => e.What is AlertRaised);
        Assert.Equal(expected, replayed);
    }

    [Fact]
    public void A_new_version_applies_from_its_effective_time_and_runs_in_flight_move_onto_it_with_no_alert_lost_or_doubled()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0 + Min);
        run.Tick(T0 + (10 * Min));

        // Version 2, effective at 20 min: the waiting alert comes after 30 min instead of 45.
        var v2 = Hospital with
        {
            Version = 2,
            States = [.. Hospital.States.Select(s => s.Name == "waiting" ? s with { Alerts = [s.Alerts[0] with { After = TimeSpan.FromMinutes(30) }] } : s)],
        };
        run.Workflows.Catalog = run.Workflows.Catalog.With(v2, T0 + (20 * Min));
        run.Place(Ben, "waiting-room", T0 + (25 * Min));
        run.Tick(T0 + (120 * Min));

        // Ann moved onto version 2 at her next timer (the old 46 min deadline), which armed the new one
        // (31 min, past) and withdrew the old: one alert, at the new deadline.
        var ann = Assert.Single(run.Outputs(Ann), o => o.Step!.What is AlertRaised);
        Assert.Equal((2, T0 + (31 * Min)), (ann.Step!.Version, ann.TimeUs));
        var ben = Assert.Single(run.Outputs(Ben), o => o.Step!.What is AlertRaised);
        Assert.Equal((2, T0 + (55 * Min)), (ben.Step!.Version, ben.TimeUs));
        Assert.All(run.Outputs(Ben), o => Assert.Equal(2, o.Step!.Version));
        Assert.Equal(1, run.Outputs(Ann).First().Step!.Version);
    }

    [Fact]
    public void A_visit_that_ended_starts_again_at_the_next_arrival()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0);
        run.Place(Ann, "main-exit", T0 + (5 * Min));
        run.Depart(Ann, "main-exit", T0 + (6 * Min));
        run.Place(Ann, "waiting-room", T0 + (600 * Min));
        run.Tick(T0 + (601 * Min));
        Assert.Equal(
            ["→arrived", "arrived→waiting", "waiting→left-without-discharge", "→arrived", "arrived→waiting"],
            run.Steps(Ann).OfType<StateChanged>().Select(s => $"{s.From}→{s.To}"));
    }
}
