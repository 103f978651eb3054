using EdgeStream.Contracts;
using EdgeStream.Engine.Io;
using EdgeStream.Rules.Workflows;
using static EdgeStream.Tracking.Tests.Workflows_in_the_tracking_job;

namespace EdgeStream.Tracking.Tests;

/// <summary>Overrides, scans, corrections and actions from people, read from the log by the tracking job.</summary>
[Trait("Capability", "Rules")]
public sealed class Manual_events_in_the_tracking_job
{
    private const long Idle = 6_000_000; // past the engine's 5 s idle timeout: the manual source stops holding the watermark

    [Fact]
    public void An_override_wins_over_departures_until_a_confident_read_places_the_tag_elsewhere()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0);
        run.Manual(Ann, ManualKind.Override, T0 + Min, zone: "recovery");
        run.WallClock(T0 + Min + Idle);
        run.Tick(T0 + (2 * Min));
        Assert.Equal(["waiting-room", "recovery"], run.Placements(Ann));

        // The reads lose the tag in the waiting room: the override holds.
        run.Depart(Ann, "waiting-room", T0 + (3 * Min));
        run.Tick(T0 + (4 * Min));
        Assert.Equal(["waiting-room", "recovery"], run.Placements(Ann));
        Assert.True(run.Task.TryGetState(Ann, out var held));
        Assert.Equal(long.MaxValue, held.OverrideUntilUs);

        // An arrival elsewhere is a confident read: it ends the override.
        run.Place(Ann, "exam-1", T0 + (5 * Min));
        run.Tick(T0 + (6 * Min));
        Assert.Equal(["waiting-room", "recovery", "exam-1"], run.Placements(Ann));
        Assert.True(run.Task.TryGetState(Ann, out var after));
        Assert.Equal(0, after.OverrideUntilUs);
    }

    [Fact]
    public void An_override_with_an_end_gives_the_tag_back_to_the_reads_at_that_time_even_when_no_event_comes()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0);
        run.Manual(Ann, ManualKind.Override, T0 + Min, zone: "recovery", untilUs: T0 + (30 * Min));
        run.WallClock(T0 + Min + Idle);
        run.Tick(T0 + (2 * Min));
        Assert.Equal(["waiting-room", "recovery"], run.Placements(Ann));

        // Checkpointed and restored with the override holding (kill -9 of the worker).
        var snapshot = run.Task.BeginCheckpoint(1);
        using var writer = new SnapshotWriter();
        run.Task.WriteCheckpoint(snapshot, writer);
        run.Task.ReleaseSnapshot(snapshot);
        var restored = new JobRun();
        restored.Task.Restore(writer.WrittenSpan);
        restored.Offset = run.Offset;

        restored.WallClock(T0 + (29 * Min));
        Assert.Empty(restored.Placements(Ann));
        restored.WallClock(T0 + (30 * Min));
        var back = Assert.Single(restored.Sink.Snapshot(), o => o.Key == Ann && o.Value.Kind == TrackingOutputKind.Placement);
        Assert.Equal(("waiting-room", T0 + (30 * Min)), (restored.Zones.NameOf(back.Value.Zone), back.Value.TimeUs));

        // It fires once.
        restored.WallClock(T0 + (60 * Min));
        Assert.Single(restored.Placements(Ann));
    }

    [Fact]
    public void A_manual_action_drives_the_workflow_and_names_who_made_it()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0);
        run.Place(Ann, "triage", T0 + Min);
        run.Manual(Ann, ManualKind.Action, T0 + (2 * Min), action: "discharge", by: "dr-lee");
        run.WallClock(T0 + (2 * Min) + Idle);
        run.Tick(T0 + (3 * Min));
        var last = run.Steps(Ann).OfType<StateChanged>().Last();
        Assert.Equal(("triage", "discharged", "manual discharge by dr-lee"), (last.From, last.To, last.Cause));
    }

    [Fact]
    public void A_scan_and_a_correction_place_the_tag_and_a_release_ends_an_override_where_the_reads_left_it()
    {
        var run = new JobRun();
        run.Place(Ann, "waiting-room", T0);
        run.Manual(Ann, ManualKind.Place, T0 + Min, zone: "triage");
        run.Manual(Ann, ManualKind.Correction, T0 + (2 * Min));
        run.Manual(Ann, ManualKind.Override, T0 + (3 * Min), zone: "recovery");
        run.WallClock(T0 + (3 * Min) + Idle);
        run.Tick(T0 + (4 * Min));
        run.Place(Ann, "recovery", T0 + (5 * Min)); // confirms the override, which ends without a move
        run.Manual(Ann, ManualKind.Override, T0 + (6 * Min), zone: "exam-1");
        run.Manual(Ann, ManualKind.Release, T0 + (7 * Min));
        run.WallClock(T0 + (7 * Min) + (2 * Idle));
        run.Tick(T0 + (8 * Min));
        Assert.Equal(["waiting-room", "triage", null, "recovery", "exam-1", "recovery"], run.Placements(Ann));
    }
}
