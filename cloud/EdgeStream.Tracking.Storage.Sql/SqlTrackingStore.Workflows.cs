using System.Data.Common;
using System.Globalization;
using EdgeStream.Contracts;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>Workflow definitions, state history and alerts.</summary>
public partial class SqlTrackingStore
{
    private const string HolderOf = "(SELECT asset_id FROM asset_tags WHERE epc = @e AND to_us IS NULL)";
    private const string InsertStep = "INSERT INTO alert_steps (alert_id, at_us, step, actor, reason) VALUES (@i, @t, @s, @a, @r)";

    /// <summary>Every step of an alert is also a notification (the channels' outbox), with the alert as it is after the step.</summary>
    private const string InsertNotification =
        "INSERT INTO notifications (alert_id, rule_id, asset_id, epc, state, severity, message, raised_us, status, level, step, at_us, actor, reason, created_us) " +
        "SELECT id, rule_id, asset_id, epc, state, severity, message, raised_us, status, level, @s, @t, @a, @r, @now FROM alerts WHERE id = @i";
    private const string AlertColumns = "id, rule_id, asset_id, epc, state, severity, message, status, level, raised_us, acked_us, acked_by, resolved_us, resolved_by, snoozed_until_us";

    /// <inheritdoc />
    public async Task<bool> SaveWorkflowAsync(StoredWorkflow workflow, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        return await ExecAsync(
            c,
            null,
            "INSERT INTO workflow_definitions (id, version, asset_type, effective_us, body, saved_us, saved_by) VALUES (@i, @v, @a, @e, @b, @s, @by) ON CONFLICT (id, version) DO NOTHING",
            cancellationToken,
            ("@i", workflow.Id),
            ("@v", workflow.Version),
            ("@a", workflow.AssetType),
            ("@e", workflow.EffectiveUs),
            ("@b", workflow.Body),
            ("@s", workflow.SavedUs),
            ("@by", workflow.SavedBy)) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredWorkflow>> ListWorkflowsAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(c, null, "SELECT id, version, asset_type, effective_us, body, saved_us, saved_by FROM workflow_definitions ORDER BY id, version");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var list = new List<StoredWorkflow>();
        while (await r.ReadAsync(cancellationToken))
        {
            list.Add(new StoredWorkflow(r.GetString(0), Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture), r.GetString(2), Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture), r.GetString(4), Convert.ToInt64(r.GetValue(5), CultureInfo.InvariantCulture), r.GetString(6)));
        }

        return list;
    }

    /// <inheritdoc />
    public async Task<Page<StateInterval>> StatesAsync(string assetId, long fromUs, long toUs, int limit, string? cursor, CancellationToken cancellationToken)
    {
        // As location history: the asset's tags' states while each tag was the asset's.
        var sql = "SELECT t.epc, s.workflow_id, s.version, s.state, s.from_state, s.cause, s.from_us, s.to_us, s.output_id FROM asset_tags t JOIN state_history s ON s.epc = t.epc " +
            "WHERE t.asset_id = @a AND (t.to_us IS NULL OR s.from_us < t.to_us) AND (s.to_us IS NULL OR s.to_us > t.from_us) AND s.from_us < @to AND (s.to_us IS NULL OR s.to_us > @from)";
        var args = new List<(string, object?)> { ("@a", assetId), ("@from", fromUs), ("@to", toUs) };
        if (cursor is not null)
        {
            var p = Cursor.Decode(cursor, 2);
            sql += " AND (s.from_us > @cf OR (s.from_us = @cf AND s.output_id > @co))";
            args.Add(("@cf", Cursor.Long(p[0], cursor)));
            args.Add(("@co", p[1]));
        }

        sql += $" ORDER BY s.from_us, s.output_id LIMIT {(limit + 1).ToString(CultureInfo.InvariantCulture)}";
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(c, null, sql, [.. args]);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var items = new List<(StateInterval Item, string Output)>();
        while (await r.ReadAsync(cancellationToken))
        {
            items.Add((new StateInterval(assetId, r.GetString(0), r.GetString(1), Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture), r.GetString(3), NullableString(r, 4), r.GetString(5), Convert.ToInt64(r.GetValue(6), CultureInfo.InvariantCulture), NullableLong(r, 7)), r.GetString(8)));
        }

        var more = items.Count > limit;
        var page = more ? items.Take(limit).ToList() : items;
        return new Page<StateInterval>([.. page.Select(x => x.Item)], more ? Cursor.Encode(page[^1].Item.FromUs.ToString(CultureInfo.InvariantCulture), page[^1].Output) : null);
    }

    /// <inheritdoc />
    public async Task<Page<Alert>> ListAlertsAsync(AlertFilter filter, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        var args = new List<(string, object?)>();
        void Where(string clause, string name, object? value)
        {
            if (value is not null)
            {
                where.Add(clause);
                args.Add((name, value));
            }
        }

        Where("status = @st", "@st", filter.Status);
        Where("severity = @sv", "@sv", filter.Severity);
        Where("asset_id = @as", "@as", filter.AssetId);
        Where("rule_id = @ru", "@ru", filter.RuleId);
        Where("raised_us >= @fr", "@fr", filter.FromUs);
        Where("raised_us < @to", "@to", filter.ToUs);
        if (cursor is not null)
        {
            Where("id < @cid", "@cid", Cursor.Long(Cursor.Decode(cursor, 1)[0], cursor));
        }

        await using var c = await _dialect.OpenAsync(cancellationToken);
        var items = await QueryAlertsAsync(c, null, (where.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", where)) + $" ORDER BY id DESC LIMIT {(limit + 1).ToString(CultureInfo.InvariantCulture)}", cancellationToken, [.. args]);
        var more = items.Count > limit;
        var page = more ? items.Take(limit).ToList() : items;
        return new Page<Alert>(page, more ? Cursor.Encode(page[^1].Id.ToString(CultureInfo.InvariantCulture)) : null);
    }

    /// <inheritdoc />
    public async Task<Alert?> GetAlertAsync(long id, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        return await ReadAlertAsync(c, null, id, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<Alert?> ChangeAlertAsync(long id, AlertChange change, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        if (await ReadAlertAsync(c, tx, id, cancellationToken) is not { } alert)
        {
            return null;
        }

        if (alert.Status == "resolved")
        {
            throw new AlertStateException($"alert {id} is resolved; it takes no further step.");
        }

        string step;
        switch (change.Action)
        {
            case AlertAction.Acknowledge when alert.Status == "acknowledged":
                // Acknowledging twice is one acknowledgement: the first one's who and when stay.
                return alert;
            case AlertAction.Acknowledge:
                await ExecAsync(c, tx, "UPDATE alerts SET status = 'acknowledged', acked_us = @t, acked_by = @b WHERE id = @i", cancellationToken, ("@t", change.NowUs), ("@b", change.Actor), ("@i", id));
                step = "acknowledged";
                break;
            case AlertAction.Resolve:
                await ExecAsync(c, tx, "UPDATE alerts SET status = 'resolved', resolved_us = @t, resolved_by = @b WHERE id = @i", cancellationToken, ("@t", change.NowUs), ("@b", change.Actor), ("@i", id));
                step = "resolved";
                break;
            case AlertAction.Snooze when change.UntilUs is not { } until || until <= change.NowUs:
                throw new AlertStateException("a snooze needs an 'until' in the future.");
            case AlertAction.Snooze:
                await ExecAsync(c, tx, "UPDATE alerts SET snoozed_until_us = @u WHERE id = @i", cancellationToken, ("@u", change.UntilUs), ("@i", id));
                step = "snoozed until " + EventTimes.ToIso(change.UntilUs.Value);
                break;
            default:
                throw new AlertStateException($"unknown step {change.Action}.");
        }

        await AddStepAsync(c, tx, id, change.NowUs, step, change.Actor, change.Reason, cancellationToken);
        var changed = await ReadAlertAsync(c, tx, id, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return changed;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Alert>> EscalateAsync(TimeSpan after, int maxLevel, long nowUs, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        var due = await QueryAlertsAsync(
            c,
            tx,
            "WHERE status = 'open' AND level < @max AND level_us <= @due AND (snoozed_until_us IS NULL OR snoozed_until_us <= @now) ORDER BY id",
            cancellationToken,
            ("@max", maxLevel),
            ("@due", nowUs - (long)after.TotalMicroseconds),
            ("@now", nowUs));
        var raised = new List<Alert>();
        foreach (var a in due)
        {
            // Conditional on the level read: two processes escalating at once raise it once.
            if (await ExecAsync(c, tx, "UPDATE alerts SET level = level + 1, level_us = @t WHERE id = @i AND level = @l", cancellationToken, ("@t", nowUs), ("@i", a.Id), ("@l", a.Level)) == 0)
            {
                continue;
            }

            await AddStepAsync(c, tx, a.Id, nowUs, $"escalated to level {a.Level + 1}", "escalation", $"not acknowledged within {after.TotalMinutes:0.#} min", cancellationToken);
            raised.Add(a with { Level = a.Level + 1 });
        }

        await tx.CommitAsync(cancellationToken);
        return raised;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, AssetProfile>> AssetProfilesAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(c, null, "SELECT t.epc, a.type, a.attributes FROM asset_tags t JOIN assets a ON a.id = t.asset_id WHERE t.to_us IS NULL AND a.registered = 1");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var profiles = new Dictionary<string, AssetProfile>(StringComparer.Ordinal);
        while (await r.ReadAsync(cancellationToken))
        {
            profiles[r.GetString(0)] = new AssetProfile(NullableString(r, 1), ParseAttributes(r.GetString(2)));
        }

        return profiles;
    }

    /// <inheritdoc />
    public async Task<bool> SaveRuleAsync(StoredRule rule, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        return await ExecAsync(
            c,
            null,
            "INSERT INTO rule_definitions (id, version, enabled, effective_us, body, saved_us, saved_by) VALUES (@i, @v, @n, @e, @b, @s, @by) ON CONFLICT (id, version) DO NOTHING",
            cancellationToken,
            ("@i", rule.Id),
            ("@v", rule.Version),
            ("@n", rule.Enabled ? 1 : 0),
            ("@e", rule.EffectiveUs),
            ("@b", rule.Body),
            ("@s", rule.SavedUs),
            ("@by", rule.SavedBy)) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredRule>> ListRulesAsync(CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(c, null, "SELECT id, version, enabled, effective_us, body, saved_us, saved_by FROM rule_definitions ORDER BY id, version");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var rules = new List<StoredRule>();
        while (await r.ReadAsync(cancellationToken))
        {
            rules.Add(new StoredRule(r.GetString(0), Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture), Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture) == 1, Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture), r.GetString(4), Convert.ToInt64(r.GetValue(5), CultureInfo.InvariantCulture), r.GetString(6)));
        }

        return rules;
    }

    /// <summary>
    /// The job's workflow steps, each once (by output id): a state change closes the tag's open state and
    /// opens the new one, and moves the asset's current state when it is the newest; a raised alert opens
    /// unless one is open for the rule and asset; a cleared one resolves what is open.
    /// </summary>
    private async Task ApplyWorkflowAsync(CommandCache q, IReadOnlyList<WorkflowRecord> steps, List<string> seen, CancellationToken ct)
    {
        foreach (var w in steps)
        {
            // A zone's alert names the zone as its asset, and no tag.
            var holder = w.Subject is null ? HolderOf : "@z";
            if (w.Subject is null)
            {
                await EnsureTagAsync(q, w.Epc, seen, ct);
            }

            switch (w.Kind)
            {
                case WorkflowRecordKind.StateChanged:
                    var added = await q.ExecAsync(
                        "INSERT INTO state_history (epc, from_us, to_us, workflow_id, version, state, from_state, cause, output_id) VALUES (@e, @t, NULL, @w, @v, @s, @f, @c, @o) ON CONFLICT (output_id) DO NOTHING",
                        ct,
                        ("@e", w.Epc),
                        ("@t", w.AtUs),
                        ("@w", w.WorkflowId),
                        ("@v", w.Version),
                        ("@s", w.State),
                        ("@f", w.FromState),
                        ("@c", w.Cause ?? string.Empty),
                        ("@o", w.OutputId));
                    if (added == 0)
                    {
                        break;
                    }

                    await q.ExecAsync("UPDATE state_history SET to_us = @t WHERE epc = @e AND to_us IS NULL AND output_id <> @o", ct, ("@t", w.AtUs), ("@e", w.Epc), ("@o", w.OutputId));
                    await q.ExecAsync($"UPDATE assets SET workflow_id = @w, state = @s, state_since_us = @t WHERE id = {HolderOf} AND (state_since_us IS NULL OR state_since_us <= @t)", ct, ("@w", w.WorkflowId), ("@s", w.State), ("@t", w.AtUs), ("@e", w.Epc));
                    break;
                case WorkflowRecordKind.AlertRaised:
                    var opened = await q.ScalarAsync(
                        $"INSERT INTO alerts (rule_id, asset_id, epc, state, severity, message, status, level, level_us, raised_us, raise_output) VALUES (@r, {holder}, @e, @s, @sv, @m, 'open', 1, @now, @t, @o) ON CONFLICT DO NOTHING RETURNING id",
                        ct,
                        ("@r", w.RuleId),
                        ("@e", w.Subject is null ? w.Epc : null),
                        ("@z", w.Subject),
                        ("@s", w.State),
                        ("@sv", w.Severity ?? "warning"),
                        ("@m", w.Message),
                        ("@now", EventTimes.NowUs()),
                        ("@t", w.AtUs),
                        ("@o", w.OutputId));
                    if (opened is not null)
                    {
                        await AddStepAsync(q, Convert.ToInt64(opened, CultureInfo.InvariantCulture), w.AtUs, "opened", w.Actor, w.Message, ct);
                    }

                    break;
                case WorkflowRecordKind.AlertCleared:
                    var cleared = await q.ScalarAsync(
                        $"UPDATE alerts SET status = 'resolved', resolved_us = @t, resolved_by = @a WHERE rule_id = @r AND asset_id = {holder} AND status <> 'resolved' AND raised_us <= @t RETURNING id",
                        ct,
                        ("@t", w.AtUs),
                        ("@a", w.Actor),
                        ("@r", w.RuleId),
                        ("@e", w.Epc),
                        ("@z", w.Subject));
                    if (cleared is not null)
                    {
                        await AddStepAsync(q, Convert.ToInt64(cleared, CultureInfo.InvariantCulture), w.AtUs, "resolved", w.Actor, "condition cleared: " + w.Cause, ct);
                    }

                    break;
            }
        }
    }

    private static async Task AddStepAsync(DbConnection c, DbTransaction tx, long id, long atUs, string step, string actor, string? reason, CancellationToken ct)
    {
        await ExecAsync(c, tx, InsertStep, ct, ("@i", id), ("@t", atUs), ("@s", step), ("@a", actor), ("@r", reason));
        await ExecAsync(c, tx, InsertNotification, ct, ("@s", step), ("@t", atUs), ("@a", actor), ("@r", reason), ("@now", EventTimes.NowUs()), ("@i", id));
    }

    private static async Task AddStepAsync(CommandCache q, long id, long atUs, string step, string actor, string? reason, CancellationToken ct)
    {
        await q.ExecAsync(InsertStep, ct, ("@i", id), ("@t", atUs), ("@s", step), ("@a", actor), ("@r", reason));
        await q.ExecAsync(InsertNotification, ct, ("@s", step), ("@t", atUs), ("@a", actor), ("@r", reason), ("@now", EventTimes.NowUs()), ("@i", id));
    }

    private static async Task<Alert?> ReadAlertAsync(DbConnection c, DbTransaction? tx, long id, CancellationToken ct)
    {
        var found = await QueryAlertsAsync(c, tx, "WHERE id = @i", ct, ("@i", id));
        if (found.Count == 0)
        {
            return null;
        }

        var steps = new List<AlertStep>();
        await using (var cmd = Command(c, tx, "SELECT at_us, step, actor, reason FROM alert_steps WHERE alert_id = @i ORDER BY at_us, step", ("@i", id)))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                steps.Add(new AlertStep(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), r.GetString(1), r.GetString(2), NullableString(r, 3)));
            }
        }

        return found[0] with { Steps = steps };
    }

    private static async Task<List<Alert>> QueryAlertsAsync(DbConnection c, DbTransaction? tx, string tail, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(c, tx, $"SELECT {AlertColumns} FROM alerts {tail}", args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<Alert>();
        while (await r.ReadAsync(ct))
        {
            list.Add(new Alert(
                Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture),
                r.GetString(1),
                r.GetString(2),
                NullableString(r, 3),
                NullableString(r, 4),
                r.GetString(5),
                NullableString(r, 6),
                r.GetString(7),
                Convert.ToInt32(r.GetValue(8), CultureInfo.InvariantCulture),
                Convert.ToInt64(r.GetValue(9), CultureInfo.InvariantCulture),
                NullableLong(r, 10),
                NullableString(r, 11),
                NullableLong(r, 12),
                NullableString(r, 13),
                NullableLong(r, 14)));
        }

        return list;
    }
}
