namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>
/// The schema, as numbered steps. A step is never changed once released: a change is a new step. The
/// store runs every step above the database's version at start (or <c>edgestream-cloud db migrate</c>).
/// </summary>
internal static class Migrations
{
    public static IReadOnlyList<(int Version, string Name, Func<SqlDialect, IReadOnlyList<string>> Statements)> All { get; } =
    [
        (1, "registry, locations, history, late events, change feed", d =>
        [
            "CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT NULL, time_zone TEXT NULL, attributes TEXT NOT NULL DEFAULT '{}')",
            "INSERT INTO sites (id, name) VALUES ('default', 'Default site')",
            $"CREATE TABLE zones (id {d.IdentityPrimaryKey}, site_id TEXT NOT NULL REFERENCES sites (id), name TEXT NOT NULL, kind TEXT NOT NULL, parent_id BIGINT NULL, capacity INTEGER NULL, attributes TEXT NOT NULL DEFAULT '{{}}', auto_created INTEGER NOT NULL DEFAULT 0, UNIQUE (site_id, name))",
            "CREATE TABLE gateways (id TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites (id))",
            "CREATE TABLE assets (id TEXT PRIMARY KEY, name TEXT NULL, type TEXT NULL, owner TEXT NULL, home_zone TEXT NULL, attributes TEXT NOT NULL DEFAULT '{}', registered INTEGER NOT NULL, created_us BIGINT NOT NULL, updated_us BIGINT NOT NULL, loc_epc TEXT NULL, zone_id BIGINT NULL, since_us BIGINT NULL, last_seen_us BIGINT NULL, gateway_id TEXT NULL)",
            "CREATE INDEX assets_zone ON assets (zone_id, id)",
            "CREATE INDEX assets_type ON assets (type, id)",
            "CREATE TABLE asset_tags (epc TEXT NOT NULL, asset_id TEXT NOT NULL, from_us BIGINT NOT NULL, to_us BIGINT NULL, PRIMARY KEY (epc, from_us))",
            "CREATE INDEX asset_tags_asset ON asset_tags (asset_id, from_us)",
            "CREATE TABLE tags (epc TEXT PRIMARY KEY, last_seen_us BIGINT NOT NULL, gateway_id TEXT NULL)",
            .. d.CreateHistory(),
            "CREATE INDEX history_zone ON history (zone_id, from_us)",
            $"CREATE TABLE late_events (seq {d.IdentityPrimaryKey}, partition_no INTEGER NOT NULL, log_offset BIGINT NOT NULL, epc TEXT NOT NULL, gateway_id TEXT NOT NULL, kind TEXT NOT NULL, zone TEXT NULL, event_us BIGINT NOT NULL, watermark_us BIGINT NOT NULL, detail TEXT NOT NULL, event_id TEXT NOT NULL, UNIQUE (partition_no, log_offset))",
            $"CREATE TABLE changes (seq {d.IdentityPrimaryKey}, asset_id TEXT NOT NULL, epc TEXT NOT NULL, zone_id BIGINT NULL, at_us BIGINT NOT NULL)",
        ]),
        (2, "workflow definitions, workflow state and its history, alerts and their steps", d =>
        [
            "CREATE TABLE workflow_definitions (id TEXT NOT NULL, version INTEGER NOT NULL, asset_type TEXT NOT NULL, effective_us BIGINT NOT NULL, body TEXT NOT NULL, saved_us BIGINT NOT NULL, saved_by TEXT NOT NULL, PRIMARY KEY (id, version))",
            "ALTER TABLE assets ADD COLUMN workflow_id TEXT NULL",
            "ALTER TABLE assets ADD COLUMN state TEXT NULL",
            "ALTER TABLE assets ADD COLUMN state_since_us BIGINT NULL",
            "CREATE INDEX assets_state ON assets (state, id)",
            "CREATE TABLE state_history (epc TEXT NOT NULL, from_us BIGINT NOT NULL, to_us BIGINT NULL, workflow_id TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL, from_state TEXT NULL, cause TEXT NOT NULL, output_id TEXT NOT NULL UNIQUE)",
            "CREATE INDEX state_history_epc ON state_history (epc, from_us)",
            $"CREATE TABLE alerts (id {d.IdentityPrimaryKey}, rule_id TEXT NOT NULL, asset_id TEXT NOT NULL, epc TEXT NULL, state TEXT NULL, severity TEXT NOT NULL, message TEXT NULL, status TEXT NOT NULL, level INTEGER NOT NULL DEFAULT 1, level_us BIGINT NOT NULL, raised_us BIGINT NOT NULL, acked_us BIGINT NULL, acked_by TEXT NULL, resolved_us BIGINT NULL, resolved_by TEXT NULL, snoozed_until_us BIGINT NULL, raise_output TEXT NOT NULL UNIQUE)",
            "CREATE UNIQUE INDEX alerts_one_open ON alerts (rule_id, asset_id) WHERE status <> 'resolved'",
            "CREATE INDEX alerts_status ON alerts (status, id)",
            "CREATE INDEX alerts_asset ON alerts (asset_id, id)",
            "CREATE TABLE alert_steps (alert_id BIGINT NOT NULL, at_us BIGINT NOT NULL, step TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NULL)",
            "CREATE INDEX alert_steps_alert ON alert_steps (alert_id, at_us)",
        ]),
        (3, "manual events: people's overrides, scans, corrections and actions, kept until the log has them", d =>
        [
            $"CREATE TABLE manual_events (seq {d.IdentityPrimaryKey}, client_id TEXT NOT NULL UNIQUE, event_id TEXT NULL, asset_id TEXT NULL, epc TEXT NOT NULL, kind TEXT NOT NULL, zone TEXT NULL, action TEXT NULL, until_us BIGINT NOT NULL, by_actor TEXT NOT NULL, reason TEXT NULL, event_us BIGINT NOT NULL, received_us BIGINT NOT NULL, appended INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX manual_events_pending ON manual_events (appended, seq)",
            "CREATE INDEX manual_events_asset ON manual_events (asset_id, seq)",
            "CREATE INDEX manual_events_event ON manual_events (event_id)",
        ]),
        (4, "rule definitions (every version, removals included); notifications of alert steps, each channel's delivery cursor and dead letters", d =>
        [
            "CREATE TABLE rule_definitions (id TEXT NOT NULL, version INTEGER NOT NULL, enabled INTEGER NOT NULL, effective_us BIGINT NOT NULL, body TEXT NOT NULL, saved_us BIGINT NOT NULL, saved_by TEXT NOT NULL, PRIMARY KEY (id, version))",
            $"CREATE TABLE notifications (seq {d.IdentityPrimaryKey}, alert_id BIGINT NOT NULL, rule_id TEXT NOT NULL, asset_id TEXT NOT NULL, epc TEXT NULL, state TEXT NULL, severity TEXT NOT NULL, message TEXT NULL, raised_us BIGINT NOT NULL, status TEXT NOT NULL, level INTEGER NOT NULL, step TEXT NOT NULL, at_us BIGINT NOT NULL, actor TEXT NOT NULL, reason TEXT NULL, created_us BIGINT NOT NULL)",
            "CREATE TABLE notification_channels (channel TEXT PRIMARY KEY, delivered_seq BIGINT NOT NULL, owner TEXT NULL, lease_until_us BIGINT NOT NULL)",
            "CREATE TABLE notification_dead_letters (channel TEXT NOT NULL, seq BIGINT NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, at_us BIGINT NOT NULL, PRIMARY KEY (channel, seq))",
        ]),
    ];

    public static int Latest => All[^1].Version;
}
