using EdgeStream.Tracking.Storage;

namespace EdgeStream.Tracking.Storage.Tests;

/// <summary>What every store must do with workflow state, definitions and alerts.</summary>
public abstract partial class Tracking_store_contract
{
    private const string Patient = "30340242201D8840009EFD0A";

    private IWorkflowStore Workflows => Assert.IsAssignableFrom<IWorkflowStore>(Store);

    [Fact]
    public async Task State_changes_become_the_assets_state_and_its_state_history_once()
    {
        await Store.UpsertAssetAsync(new AssetInput("patient-7", "Ann", "patient", null, null, null, [Patient]), T0 - Min, default);
        var batch = Steps(
            State(Patient, "arrived", null, T0, "o-1"),
            State(Patient, "waiting", "arrived", T0 + Min, "o-2"),
            State(Patient, "triage", "waiting", T0 + (20 * Min), "o-3"));
        await Store.ApplyAsync(batch, default);
        await Store.ApplyAsync(batch, default);

        var asset = await Store.GetAssetAsync("patient-7", default);
        Assert.Equal(new AssetWorkflow("hospital-patient", "triage", T0 + (20 * Min)), asset?.Workflow);
        var states = (await Workflows.StatesAsync("patient-7", long.MinValue, long.MaxValue, 100, null, default)).Items;
        Assert.Equal(["arrived", "waiting", "triage"], states.Select(s => s.State));
        Assert.Equal([T0 + Min, T0 + (20 * Min), (long?)null], states.Select(s => s.ToUs));

        // Paged, and the window cuts what overlaps it.
        var first = await Workflows.StatesAsync("patient-7", long.MinValue, long.MaxValue, 2, null, default);
        var second = await Workflows.StatesAsync("patient-7", long.MinValue, long.MaxValue, 2, first.Next, default);
        Assert.Equal(["arrived", "waiting", "triage"], first.Items.Concat(second.Items).Select(s => s.State));
        Assert.Null(second.Next);
        Assert.Equal(["waiting"], (await Workflows.StatesAsync("patient-7", T0 + (5 * Min), T0 + (6 * Min), 10, null, default)).Items.Select(s => s.State));

        Assert.Equal(["patient-7"], (await Store.ListAssetsAsync(new AssetFilter(State: "triage"), 10, null, default)).Items.Select(a => a.Id));
        Assert.Empty((await Store.ListAssetsAsync(new AssetFilter(State: "waiting"), 10, null, default)).Items);
        Assert.Equal("patient", (await Workflows.AssetProfilesAsync(default))[Patient].Type);
    }

    [Fact]
    public async Task One_alert_is_open_per_rule_and_asset_and_clearing_resolves_it_with_its_steps()
    {
        await Store.ApplyAsync(Steps(Raise(Patient, T0 + (45 * Min), "o-10")), default);
        await Store.ApplyAsync(Steps(Raise(Patient, T0 + (46 * Min), "o-11")), default);
        var open = (await Workflows.ListAlertsAsync(new AlertFilter(Status: "open"), 10, null, default)).Items;
        var alert = Assert.Single(open);
        Assert.Equal(("workflow:hospital-patient/waiting-too-long", Patient, "warning", 1, T0 + (45 * Min)), (alert.RuleId, alert.AssetId, alert.Severity, alert.Level, alert.RaisedUs));

        var cleared = new WorkflowRecord(Patient, "hospital-patient", 1, WorkflowRecordKind.AlertCleared, T0 + (50 * Min), "waiting", null, "left waiting", "waiting-too-long", null, null, "o-12");
        await Store.ApplyAsync(Steps(cleared), default);
        await Store.ApplyAsync(Steps(cleared, Raise(Patient, T0 + (45 * Min), "o-10")), default);

        var resolved = await Workflows.GetAlertAsync(alert.Id, default);
        Assert.Equal(("resolved", "workflow", T0 + (50 * Min)), (resolved!.Status, resolved.ResolvedBy, resolved.ResolvedUs));
        Assert.Equal(["opened", "resolved"], resolved.Steps.Select(s => s.Step));
        Assert.Single((await Workflows.ListAlertsAsync(new AlertFilter(), 10, null, default)).Items);

        // Raised again later: a new alert.
        await Store.ApplyAsync(Steps(Raise(Patient, T0 + (120 * Min), "o-13")), default);
        Assert.Equal(2, (await Workflows.ListAlertsAsync(new AlertFilter(AssetId: Patient), 10, null, default)).Items.Count);
    }

    [Fact]
    public async Task People_acknowledge_snooze_and_resolve_alerts_and_each_step_says_who_when_and_why()
    {
        await Store.ApplyAsync(Steps(Raise(Patient, T0, "o-20")), default);
        var id = (await Workflows.ListAlertsAsync(new AlertFilter(), 1, null, default)).Items[0].Id;
        var now = T0 + Min;

        var snoozed = await Workflows.ChangeAlertAsync(id, new AlertChange(AlertAction.Snooze, "nurse-ann", "with the doctor", now, now + (30 * Min)), default);
        Assert.Equal(now + (30 * Min), snoozed!.SnoozedUntilUs);
        await Assert.ThrowsAsync<AlertStateException>(() => Workflows.ChangeAlertAsync(id, new AlertChange(AlertAction.Snooze, "nurse-ann", null, now, now - 1), default));

        var acked = await Workflows.ChangeAlertAsync(id, new AlertChange(AlertAction.Acknowledge, "nurse-ann", "on my way", now + Min), default);
        Assert.Equal(("acknowledged", "nurse-ann", now + Min), (acked!.Status, acked.AcknowledgedBy, acked.AcknowledgedUs));
        var again = await Workflows.ChangeAlertAsync(id, new AlertChange(AlertAction.Acknowledge, "porter-bob", null, now + (2 * Min)), default);
        Assert.Equal("nurse-ann", again!.AcknowledgedBy);

        var done = await Workflows.ChangeAlertAsync(id, new AlertChange(AlertAction.Resolve, "dr-cho", "seen", now + (3 * Min)), default);
        Assert.Equal(("resolved", "dr-cho"), (done!.Status, done.ResolvedBy));
        Assert.Equal(
            [("opened", "workflow"), ("snoozed until 2026-01-01T00:31:00.000000Z", "nurse-ann"), ("acknowledged", "nurse-ann"), ("resolved", "dr-cho")],
            done.Steps.Select(s => (s.Step, s.Actor)));
        Assert.Equal(["with the doctor", "on my way", "seen"], done.Steps.Skip(1).Select(s => s.Reason));
        await Assert.ThrowsAsync<AlertStateException>(() => Workflows.ChangeAlertAsync(id, new AlertChange(AlertAction.Acknowledge, "x", null, now), default));
        Assert.Null(await Workflows.ChangeAlertAsync(id + 1000, new AlertChange(AlertAction.Acknowledge, "x", null, now), default));
    }

    [Fact]
    public async Task An_alert_nobody_acknowledges_escalates_one_level_per_interval_up_to_the_last()
    {
        await Store.ApplyAsync(Steps(Raise(Patient, T0, "o-30")), default);
        var now = Contracts.EventTimes.NowUs();
        Assert.Empty(await Workflows.EscalateAsync(TimeSpan.FromMinutes(10), 3, now + (9 * Min), default));
        Assert.Equal([2], (await Workflows.EscalateAsync(TimeSpan.FromMinutes(10), 3, now + (11 * Min), default)).Select(a => a.Level));
        Assert.Empty(await Workflows.EscalateAsync(TimeSpan.FromMinutes(10), 3, now + (15 * Min), default));
        Assert.Equal([3], (await Workflows.EscalateAsync(TimeSpan.FromMinutes(10), 3, now + (22 * Min), default)).Select(a => a.Level));
        Assert.Empty(await Workflows.EscalateAsync(TimeSpan.FromMinutes(10), 3, now + (60 * Min), default));

        // Acknowledged alerts do not escalate.
        await Store.ApplyAsync(Steps(Raise(Chair, T0, "o-31")), default);
        var chair = (await Workflows.ListAlertsAsync(new AlertFilter(AssetId: Chair), 1, null, default)).Items[0];
        await Workflows.ChangeAlertAsync(chair.Id, new AlertChange(AlertAction.Acknowledge, "nurse-ann", null, now), default);
        Assert.DoesNotContain(chair.Id, (await Workflows.EscalateAsync(TimeSpan.FromMinutes(10), 5, now + (120 * Min), default)).Select(a => a.Id));
    }

    [Fact]
    public async Task Workflow_versions_are_kept_and_the_same_version_is_stored_once()
    {
        var v1 = new StoredWorkflow("hospital-patient", 1, "patient", T0, "{}", T0, "admin");
        Assert.True(await Workflows.SaveWorkflowAsync(v1, default));
        Assert.False(await Workflows.SaveWorkflowAsync(v1 with { Body = "{\"changed\":1}" }, default));
        Assert.True(await Workflows.SaveWorkflowAsync(v1 with { Version = 2, EffectiveUs = T0 + Min }, default));
        var all = await Workflows.ListWorkflowsAsync(default);
        Assert.Equal([(1, "{}"), (2, "{}")], all.Select(w => (w.Version, w.Body)));
    }

    [Fact]
    public async Task Rule_versions_and_removals_are_kept_and_a_rules_alert_is_opened_and_cleared_by_the_rule()
    {
        var v1 = new StoredRule("pump-exit", 1, true, T0, "{}", T0, "admin");
        Assert.True(await Workflows.SaveRuleAsync(v1, default));
        Assert.False(await Workflows.SaveRuleAsync(v1 with { Body = "{\"changed\":1}" }, default));
        Assert.True(await Workflows.SaveRuleAsync(v1 with { Version = 2, Enabled = false, EffectiveUs = T0 + Min }, default));
        Assert.Equal([(1, true), (2, false)], (await Workflows.ListRulesAsync(default)).Select(r => (r.Version, r.Enabled)));

        await Store.UpsertAssetAsync(new AssetInput("pump-3", "Pump", "infusion-pump", null, null, new Dictionary<string, string> { ["ward"] = "3" }, [Chair]), T0 - Min, default);
        Assert.Equal(new Dictionary<string, string> { ["ward"] = "3" }, (await Workflows.AssetProfilesAsync(default))[Chair].Attributes);
        var raise = new WorkflowRecord(Chair, "pump-exit", 1, WorkflowRecordKind.AlertRaised, T0, "main-exit", null, null, "pump-exit", "critical", "Pump at an exit", "o-40") { Rule = true };
        var clear = new WorkflowRecord(Chair, "pump-exit", 1, WorkflowRecordKind.AlertCleared, T0 + Min, "main-exit", null, "authorised: action checkout", "pump-exit", null, null, "o-41") { Rule = true };
        await Store.ApplyAsync(Steps(raise, clear), default);
        var alert = Assert.Single((await Workflows.ListAlertsAsync(new AlertFilter(RuleId: "rule:pump-exit"), 10, null, default)).Items);
        Assert.Equal(("pump-3", "main-exit", "resolved", "rule"), (alert.AssetId, alert.State, alert.Status, alert.ResolvedBy));
        var steps = (await Workflows.GetAlertAsync(alert.Id, default))!.Steps;
        Assert.Equal([("opened", "rule", "Pump at an exit"), ("resolved", "rule", "condition cleared: authorised: action checkout")], steps.Select(x => (x.Step, x.Actor, x.Reason)));
    }

    [Fact]
    public async Task Every_alert_step_is_a_notification_once_and_each_channel_has_its_cursor_lease_and_dead_letters()
    {
        var notes = Assert.IsAssignableFrom<INotificationStore>(Store);
        await Store.ApplyAsync(Steps(Raise(Patient, T0, "o-50")), default);
        await Store.ApplyAsync(Steps(Raise(Patient, T0, "o-50")), default); // a replay: no second step, no second notification
        var id = (await Workflows.ListAlertsAsync(new AlertFilter(), 1, null, default)).Items[0].Id;
        await Workflows.ChangeAlertAsync(id, new AlertChange(AlertAction.Acknowledge, "nurse-ann", "on my way", T0 + Min), default);
        var all = await notes.NotificationsAfterAsync(0, 10, default);
        Assert.Equal([("opened", "open", "workflow"), ("acknowledged", "acknowledged", "nurse-ann")], all.Select(n => (n.Step, n.Status, n.Actor)));
        Assert.Equal(["alert.opened", "alert.acknowledged"], all.Select(n => n.Type));
        Assert.True(all[0].Seq < all[1].Seq);
        Assert.Equal([all[1].Seq], (await notes.NotificationsAfterAsync(all[0].Seq, 10, default)).Select(n => n.Seq));

        // One process holds a channel; another gets it only when the lease ran out, from the stored cursor.
        Assert.Equal(0, await notes.LeaseChannelAsync("webhook:ops", "a", T0, T0 + Min, default));
        Assert.Null(await notes.LeaseChannelAsync("webhook:ops", "b", T0 + 1, T0 + Min, default));
        Assert.True(await notes.MarkDeliveredAsync("webhook:ops", "a", all[0].Seq, default));
        Assert.False(await notes.MarkDeliveredAsync("webhook:ops", "b", all[1].Seq, default));
        Assert.Equal(all[0].Seq, await notes.LeaseChannelAsync("webhook:ops", "b", T0 + Min + 1, T0 + (2 * Min), default));
        Assert.False(await notes.MarkDeliveredAsync("webhook:ops", "a", all[1].Seq, default));
        Assert.True(await notes.DeadLetterAsync("webhook:ops", "b", all[1].Seq, 3, "answered 400", T0 + (2 * Min), default));
        Assert.Equal(all[1].Seq, await notes.LeaseChannelAsync("webhook:ops", "b", T0 + (2 * Min), T0 + (3 * Min), default));
        Assert.Equal([("webhook:ops", all[1].Seq, 3, "answered 400")], (await notes.ListNotificationDeadLettersAsync(null, default)).Select(d => (d.Channel, d.Seq, d.Attempts, d.Error)));
        Assert.Empty(await notes.ListNotificationDeadLettersAsync("mqtt:x", default));

        // Another channel starts from the beginning.
        Assert.Equal(0, await notes.LeaseChannelAsync("mqtt:broker/edgestream/alerts", "a", T0, T0 + Min, default));
    }

    private static TrackingBatch Steps(params WorkflowRecord[] steps) => TrackingBatch.Empty with { Workflow = steps };

    private static WorkflowRecord State(string epc, string state, string? from, long t, string output) =>
        new(epc, "hospital-patient", 1, WorkflowRecordKind.StateChanged, t, state, from, "test", null, null, null, output);

    private static WorkflowRecord Raise(string epc, long t, string output) =>
        new(epc, "hospital-patient", 1, WorkflowRecordKind.AlertRaised, t, "waiting", null, null, "waiting-too-long", "warning", "Waiting more than 45 min", output);
}
