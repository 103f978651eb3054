using EdgeStream.Contracts;
using EdgeStream.Engine.Io;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Rules;
using EdgeStream.Tracking.Storage;
using Xunit.Abstractions;
using static EdgeStream.Tracking.Tests.JobRun;
using static EdgeStream.Tracking.Tests.Workflows_in_the_tracking_job;

namespace EdgeStream.Tracking.Tests;

/// <summary>Rules as keyed state in the tracking job: each pattern, the calendar, swaps and removals while events flow, and checkpoints.</summary>
[Trait("Capability", "Rules")]
public sealed class Rules_in_the_tracking_job(ITestOutputHelper output)
{
    private const long Idle = 6_000_000; // past the engine's 5 s idle timeout

    [Fact]
    public void Enters_raises_at_the_entry_and_clears_when_the_asset_leaves_and_leaves_raises_until_it_is_back()
    {
        var run = new JobRun(
            Rule("""{"id": "pump-at-exit", "version": 1, "severity": "critical", "assets": {"type": "infusion-pump"}, "pattern": {"enters": {"kind": "exit"}}}"""),
            Rule("""{"id": "pump-off-ward", "version": 1, "assets": {"type": "infusion-pump", "attributes": {"ward": "3"}}, "pattern": {"leaves": {"zone": "ward-3"}}}"""));
        run.Place(Pump, "ward-3", T0);
        run.Place(Pump, "main-exit", T0 + Min);
        run.Place(Pump, "ward-3", T0 + (2 * Min));
        run.Tick(T0 + (3 * Min));
        Assert.Equal(
            [
                new AlertRaised("pump-off-ward", "ward-3", AlertSeverity.Warning, "left ward-3", T0 + Min),
                new AlertRaised("pump-at-exit", "main-exit", AlertSeverity.Critical, "entered main-exit", T0 + Min),
                new AlertCleared("pump-at-exit", "main-exit", T0 + (2 * Min), "left main-exit"),
                new AlertCleared("pump-off-ward", "ward-3", T0 + (2 * Min), "back in ward-3"),
            ],
            run.RuleSteps(Pump));

        // A patient is not an infusion pump; a pump of another ward does not match the attribute.
        run.Profiles[Ben] = new AssetProfile("infusion-pump", new Dictionary<string, string> { ["ward"] = "4" });
        run.Place(Ann, "main-exit", T0 + (3 * Min));
        run.Place(Ben, "ward-3", T0 + (3 * Min));
        run.Place(Ben, "corridor", T0 + (4 * Min));
        run.Tick(T0 + (5 * Min));
        Assert.Empty(run.RuleSteps(Ann));
        Assert.DoesNotContain(run.RuleSteps(Ben), s => s is AlertRaised { AlertId: "pump-off-ward" });
    }

    [Fact]
    public void Dwell_fires_when_the_watermark_passes_the_deadline_not_before_and_not_for_a_shorter_stay()
    {
        var run = new JobRun(Rule("""{"id": "dock-dwell", "version": 1, "pattern": {"dwell": {"zone": "dock", "longerThan": "30m"}}}"""));
        run.Place(Pump, "dock", T0);
        run.Tick(T0 + (29 * Min));
        Assert.Empty(run.RuleSteps(Pump));
        run.Tick(T0 + (31 * Min));
        Assert.Equal([new AlertRaised("dock-dwell", "dock", AlertSeverity.Warning, "in dock longer than 30m", T0 + (30 * Min))], run.RuleSteps(Pump));

        run.Place(Pump, "ward-3", T0 + (40 * Min));
        run.Tick(T0 + (41 * Min));
        Assert.Equal(new AlertCleared("dock-dwell", "dock", T0 + (40 * Min), "left dock"), run.RuleSteps(Pump)[^1]);

        // A stay shorter than the limit leaves no timer behind that could fire later.
        run.Place(Pump, "dock", T0 + (50 * Min));
        run.Place(Pump, "ward-3", T0 + (60 * Min));
        run.Tick(T0 + (200 * Min));
        Assert.Equal(2, run.RuleSteps(Pump).Count);
        Assert.True(run.Task.TryGetState(Pump, out var state));
        Assert.Null(state.Rules);
    }

    [Fact]
    public void Absent_on_the_processing_clock_fires_at_the_deadline_although_no_further_event_comes()
    {
        var run = new JobRun(Rule("""{"id": "defib-away", "version": 1, "severity": "critical", "clock": "processing", "pattern": {"absent": {"zone": "crash-bay", "for": "10m"}}}"""));
        run.Place(Pump, "crash-bay", T0);
        run.Place(Pump, "ward-3", T0 + Min);
        run.WallClock(T0 + (10 * Min));
        Assert.Empty(run.RuleSteps(Pump));
        run.WallClock(T0 + (11 * Min));
        Assert.Equal([new AlertRaised("defib-away", "crash-bay", AlertSeverity.Critical, "away from crash-bay for 10m", T0 + (11 * Min))], run.RuleSteps(Pump));

        run.Place(Pump, "crash-bay", T0 + (12 * Min));
        run.WallClock(T0 + (13 * Min));
        Assert.Equal(new AlertCleared("defib-away", "crash-bay", T0 + (12 * Min), "back in crash-bay"), run.RuleSteps(Pump)[^1]);
    }

    [Fact]
    public void Missing_counts_from_the_newest_sighting_and_clears_when_the_asset_is_seen_again()
    {
        var run = new JobRun(Rule("""{"id": "pump-missing", "version": 1, "clock": "processing", "assets": {"type": "infusion-pump"}, "pattern": {"missing": {"for": "15m"}}}"""));
        run.Place(Pump, "ward-3", T0);
        run.Read(Pump, T0 + (10 * Min));
        run.WallClock(T0 + (11 * Min));

        // The timer armed at the placement fires at 0:15, finds a sighting at 0:10 and waits until 0:25.
        run.WallClock(T0 + (15 * Min));
        Assert.Empty(run.RuleSteps(Pump));
        run.WallClock(T0 + (25 * Min));
        Assert.Equal([new AlertRaised("pump-missing", string.Empty, AlertSeverity.Warning, "seen nowhere for 15m", T0 + (25 * Min))], run.RuleSteps(Pump));

        run.Read(Pump, T0 + (30 * Min));
        run.WallClock(T0 + (31 * Min));
        Assert.Equal(new AlertCleared("pump-missing", string.Empty, T0 + (30 * Min), "seen again"), run.RuleSteps(Pump)[^1]);
    }

    [Fact]
    public void Followed_by_within_fires_at_the_second_event_and_not_followed_by_fires_at_the_deadline()
    {
        var run = new JobRun(
            Rule("""{"id": "isolation-breach", "version": 1, "pattern": {"followedBy": {"first": {"leave": {"zone": "isolation"}}, "then": {"enter": {"zone": "ward-3"}}, "within": "5m"}}}"""),
            Rule("""{"id": "no-clean", "version": 1, "message": "left isolation and not cleaned within 30 min", "pattern": {"notFollowedBy": {"first": {"leave": {"zone": "isolation"}}, "then": {"enter": {"zone": "decon"}}, "within": "30m"}}}"""));
        run.Place(Pump, "isolation", T0);
        run.Place(Pump, "corridor", T0 + Min);
        run.Place(Pump, "ward-3", T0 + (3 * Min));
        run.Tick(T0 + (4 * Min));
        Assert.Equal([new AlertRaised("isolation-breach", "ward-3", AlertSeverity.Warning, "leaving zone isolation then entering zone ward-3 within 5m", T0 + (3 * Min))], run.RuleSteps(Pump));

        run.Tick(T0 + (32 * Min));
        Assert.Equal(new AlertRaised("no-clean", "isolation", AlertSeverity.Warning, "left isolation and not cleaned within 30 min", T0 + (31 * Min)), run.RuleSteps(Pump)[^1]);
        run.Place(Pump, "decon", T0 + (40 * Min));
        run.Tick(T0 + (41 * Min));
        Assert.Equal(new AlertCleared("no-clean", "isolation", T0 + (40 * Min), "entering zone decon"), run.RuleSteps(Pump)[^1]);

        // Too slow for "within 5m", and cleaned in time: nothing more.
        run.Place(Pump, "isolation", T0 + (50 * Min));
        run.Place(Pump, "decon", T0 + (51 * Min));
        run.Place(Pump, "ward-3", T0 + (60 * Min));
        run.Tick(T0 + (120 * Min));
        Assert.Equal(3, run.RuleSteps(Pump).Count);
    }

    [Fact]
    public void Exit_without_authorisation_fires_unless_a_checkout_came_within_the_window_and_a_late_checkout_clears_it()
    {
        var run = new JobRun(Rule("""
            {"id": "pump-exit", "version": 1, "severity": "critical", "assets": {"type": "infusion-pump"},
             "pattern": {"exitWithout": {"exit": {"kind": "exit"}, "authorisedBy": [{"action": "checkout"}, {"enter": {"zone": "checkout-desk"}}], "within": "5m"}}}
            """));
        run.Place(Pump, "checkout-desk", T0);
        run.Place(Pump, "main-exit", T0 + (2 * Min));
        run.Tick(T0 + (3 * Min));
        Assert.Empty(run.RuleSteps(Pump));

        run.Place(Pump, "ward-3", T0 + (10 * Min));
        run.Place(Pump, "main-exit", T0 + (20 * Min));
        run.Tick(T0 + (20 * Min));
        var raised = Assert.IsType<AlertRaised>(Assert.Single(run.RuleSteps(Pump)));
        Assert.Equal(("pump-exit", "main-exit", AlertSeverity.Critical), (raised.AlertId, raised.State, raised.Severity));
        Assert.Contains("no action checkout or entering zone checkout-desk", raised.Message, StringComparison.Ordinal);

        run.Manual(Pump, ManualKind.Action, T0 + (21 * Min), action: "checkout");
        run.WallClock(T0 + (22 * Min));
        Assert.Equal(new AlertCleared("pump-exit", "main-exit", T0 + (21 * Min), "authorised: action checkout"), run.RuleSteps(Pump)[^1]);
    }

    [Fact]
    public void The_calendar_lets_a_rule_fire_only_in_its_hours_in_the_time_zone_of_the_zones_site()
    {
        // T0 is 2026-01-01 00:00 UTC: 19:00 on Wednesday 31 December in New York.
        var run = new JobRun(Rule("""{"id": "after-hours", "version": 1, "calendar": {"days": ["wed"], "from": "18:00", "to": "23:00"}, "pattern": {"enters": {"kind": "exit"}}}"""));
        Kinds["ny-exit"] = "exit";
        run.Place(Pump, "ny-exit", T0);
        run.Place(Ben, "main-exit", T0); // UTC: Thursday 00:00, outside Wednesday's evening
        run.Tick(T0 + Min);
        Assert.Single(run.RuleSteps(Pump));
        Assert.Empty(run.RuleSteps(Ben));

        // 12 h later it is Thursday 07:00 in New York: outside the hours.
        run.Place(Pump, "ward-3", T0 + (720 * Min));
        run.Place(Pump, "ny-exit", T0 + (721 * Min));
        run.Tick(T0 + (722 * Min));
        Assert.Single(run.RuleSteps(Pump).OfType<AlertRaised>());
    }

    [Fact]
    public void A_rule_changed_while_events_flow_moves_pending_deadlines_and_a_removed_rule_clears_its_alert()
    {
        var run = new JobRun(Rule("""{"id": "dock-dwell", "version": 1, "pattern": {"dwell": {"zone": "dock", "longerThan": "30m"}}}"""));
        run.Place(Pump, "dock", T0);
        run.Place(Ann, "dock", T0 + Min);
        run.Tick(T0 + (5 * Min));

        // Version 2 shortens the limit from 0:10 on. The runs move onto it at their next event or timer
        // after that point: the pump's at its old 0:30 deadline, which becomes 0:20 and fires at once;
        // Ann's placement at 0:12 moves her 0:31 to 0:21.
        run.Rules.Catalog = run.Rules.Catalog.With(Rule("""{"id": "dock-dwell", "version": 2, "pattern": {"dwell": {"zone": "dock", "longerThan": "20m"}}}"""), T0 + (10 * Min));
        run.Place(Ann, "ward-3", T0 + (12 * Min));
        run.Place(Ann, "dock", T0 + (13 * Min));
        run.Tick(T0 + (40 * Min));
        Assert.Equal([T0 + (20 * Min)], run.RuleSteps(Pump).Select(s => s.AtUs));
        Assert.Equal([T0 + (33 * Min)], run.RuleSteps(Ann).Select(s => s.AtUs));
        Assert.All(run.Outputs(Pump).Concat(run.Outputs(Ann)).Where(o => o.Step!.Rule), o => Assert.Equal(2, o.Step!.Version));

        // Removal from 0:45: the pump's open alert clears at its next event, and the rule fires no more.
        run.Rules.Catalog = run.Rules.Catalog.With(RuleReader.Read(RuleReader.Removal("dock-dwell", 3)), T0 + (45 * Min));
        run.Place(Pump, "ward-3", T0 + (46 * Min));
        run.Tick(T0 + (46 * Min) + 1);
        Assert.Equal(new AlertCleared("dock-dwell", "dock", T0 + (46 * Min), "rule removed"), run.RuleSteps(Pump)[^1]);
        run.Place(Pump, "dock", T0 + (48 * Min));
        run.Tick(T0 + (200 * Min));
        Assert.Equal(2, run.RuleSteps(Pump).Count);
    }

    [Fact]
    public void A_gateways_watermark_mark_fires_an_event_time_absence_at_its_deadline_with_no_further_read()
    {
        var run = new JobRun(Rule("""{"id": "pump-off-ward", "version": 1, "assets": {"type": "infusion-pump"}, "pattern": {"absent": {"zone": "ward-3", "for": "10m"}}}"""));
        run.Place(Pump, "ward-3", T0);
        run.Depart(Pump, "ward-3", T0 + Min);

        // The site goes quiet: no read, no placement. The gateway's status says it has sent everything
        // up to 0:05, then up to 0:12: event time moves with it, and the deadline at 0:11 fires once.
        run.Mark(T0 + (5 * Min));
        Assert.Empty(run.RuleSteps(Pump));
        run.Mark(T0 + (12 * Min));
        run.Mark(T0 + (12 * Min)); // the same status again
        Assert.Equal([new AlertRaised("pump-off-ward", "ward-3", AlertSeverity.Warning, "away from ward-3 for 10m", T0 + (11 * Min))], run.RuleSteps(Pump));

        // A mark is not a read: the pump was not seen, nothing was placed, no state holds the mark's key.
        Assert.Equal(["ward-3", null], run.Placements(Pump));
        Assert.DoesNotContain(run.Sink.Snapshot(), o => o.Key == Epc.ParseHex("00000000"));
    }

    [Fact]
    public void A_rule_swapped_from_another_thread_while_events_flow_evaluates_every_event_with_exactly_one_version()
    {
        // 20,000 pumps each enter the dock once, 5 ms apart in event time, among 380,000 reads of other
        // pumps. Version 2 is saved from another thread while the job runs, effective at 75 s: every entry
        // raises exactly one alert, by version 1 before that instant and by version 2 from it on.
        const int Pumps = 20_000;
        const int ReadsPerEntry = 19;
        var v1 = Rule("""{"id": "dock-entry", "version": 1, "assets": {"type": "infusion-pump"}, "pattern": {"enters": {"zone": "dock"}}}""");
        var run = new JobRun(v1);
        var pumps = Enumerable.Range(0, Pumps).Select(i => Epc.ParseHex($"3034024220{i:X14}")).ToArray();
        foreach (var p in pumps)
        {
            run.Profiles[p] = new AssetProfile("infusion-pump", new Dictionary<string, string>());
        }

        var effective = T0 + 75_000_000;
        var swapped = new ManualResetEventSlim();
        var fed = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var feeder = Task.Run(() =>
        {
            for (var i = 0; i < Pumps; i++)
            {
                var t = T0 + (i * 5_000L);
                run.Place(pumps[i], "dock", t);
                for (var k = 1; k <= ReadsPerEntry; k++)
                {
                    run.Read(pumps[(i + (k * 997)) % Pumps], t + (k * 200));
                }

                Volatile.Write(ref fed, i + 1);
                if (i == Pumps * 6 / 10)
                {
                    // Never past 60 % (45 s of event time, well before 75 s) without the new version saved.
                    swapped.Wait(TimeSpan.FromMinutes(1));
                }
            }
        });

        while (Volatile.Read(ref fed) < Pumps / 4 && !feeder.IsCompleted)
        {
            Thread.Yield();
        }

        run.Rules.Catalog = run.Rules.Catalog.With(v1 with { Version = 2, Severity = AlertSeverity.Critical }, effective);
        swapped.Set();
        feeder.GetAwaiter().GetResult();
        output.WriteLine($"{Pumps * (ReadsPerEntry + 1) / clock.Elapsed.TotalSeconds:N0} events/s through the swap");
        run.Tick(T0 + (Pumps * 5_000L) + Min);

        var raised = run.Sink.Snapshot()
            .Where(o => o.Value.Kind == TrackingOutputKind.Workflow && o.Value.Step is { Rule: true, What: AlertRaised })
            .GroupBy(o => o.Key)
            .ToDictionary(g => g.Key, g => g.Select(o => o.Value.Step!).ToList());
        Assert.Equal(Pumps, raised.Count);
        for (var i = 0; i < Pumps; i++)
        {
            var step = Assert.Single(raised[pumps[i]]);
            var expected = T0 + (i * 5_000L) >= effective ? 2 : 1;
            Assert.True(step.Version == expected, $"pump {i} entered at {i * 5} ms and was evaluated by version {step.Version}, not {expected}");
        }

        Assert.Equal(5_000, raised.Values.Count(s => s[0].Version == 2));
    }

    [Fact]
    public void A_pending_deadline_survives_a_checkpoint_and_fires_once_though_the_workflow_withdrew_its_own_timer_at_the_same_instant()
    {
        // Ann's workflow waits for 0:45 in the waiting room ("waiting-too-long"); the rule's deadline is the same instant.
        var rule = Rule("""{"id": "unseen-wait", "version": 1, "assets": {"type": "patient"}, "pattern": {"notFollowedBy": {"first": {"enter": {"kind": "waiting-room"}}, "then": {"action": "triaged"}, "within": "45m"}}}""");
        var run = new JobRun(rule);
        run.Place(Ann, "waiting-room", T0);
        run.Tick(T0 + (10 * Min));

        // Discharged by hand: the workflow's run is over and withdraws its 0:45, which the rule still needs.
        run.Manual(Ann, ManualKind.Action, T0 + (20 * Min), action: "discharge");
        run.WallClock(T0 + (10 * Min) + Idle);
        run.Tick(T0 + (21 * Min));
        Assert.Contains(run.Steps(Ann), s => s is StateChanged { To: "discharged" });

        var snapshot = run.Task.BeginCheckpoint(1);
        using var writer = new SnapshotWriter();
        run.Task.WriteCheckpoint(snapshot, writer);
        run.Task.ReleaseSnapshot(snapshot);
        var restored = new JobRun(rule);
        restored.Task.Restore(writer.WrittenSpan);
        restored.Offset = run.Offset;

        restored.Tick(T0 + (46 * Min));
        restored.Tick(T0 + (90 * Min));
        Assert.Equal([new AlertRaised("unseen-wait", "waiting-room", AlertSeverity.Warning, "entering a zone of kind waiting-room with no action triaged within 45m", T0 + (45 * Min))], restored.RuleSteps(Ann));
        Assert.DoesNotContain(restored.Steps(Ann), s => s is AlertRaised { AlertId: "waiting-too-long" });
    }

    [Fact]
    public void A_run_started_for_one_tag_never_lands_in_another_tags_state()
    {
        // The task's buffers are shared by every tag it runs: Ben's new run must not be merged into the
        // pump's runs when the pump's timer empties them right after.
        var run = new JobRun(
            Rule("""{"id": "dock-dwell", "version": 1, "pattern": {"dwell": {"zone": "dock", "longerThan": "30m"}}}"""),
            Rule("""{"id": "at-exit", "version": 1, "pattern": {"enters": {"kind": "exit"}}}"""));
        run.Place(Pump, "dock", T0);
        run.Rules.Catalog = run.Rules.Catalog.With(RuleReader.Read(RuleReader.Removal("dock-dwell", 2)), T0 + (10 * Min));
        run.Place(Ben, "main-exit", T0 + (29 * Min));
        run.Tick(T0 + (31 * Min));

        Assert.True(run.Task.TryGetState(Pump, out var pump));
        Assert.Null(pump.Rules);
        Assert.True(run.Task.TryGetState(Ben, out var ben));
        Assert.Equal(["at-exit"], ben.Rules!.Select(r => r.RuleId));
        Assert.Empty(run.RuleSteps(Pump));
    }

    private static RuleDefinition Rule(string json) => RuleReader.Read(json);
}
