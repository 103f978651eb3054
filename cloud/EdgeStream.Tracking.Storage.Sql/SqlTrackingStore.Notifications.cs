using System.Data.Common;
using System.Globalization;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>Notifications: the outbox of alert steps, each channel's cursor and lease, and its dead letters.</summary>
public partial class SqlTrackingStore
{
    private const string NotificationColumns = "seq, alert_id, rule_id, asset_id, epc, state, severity, message, raised_us, status, level, step, at_us, actor, reason, created_us";

    /// <inheritdoc />
    public async Task<IReadOnlyList<Notification>> NotificationsAfterAsync(long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = Command(c, null, $"SELECT {NotificationColumns} FROM notifications WHERE seq > @s ORDER BY seq LIMIT @n", ("@s", afterSeq), ("@n", limit));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var found = new List<Notification>();
        while (await r.ReadAsync(cancellationToken))
        {
            found.Add(new Notification(
                Long(r, 0),
                Long(r, 1),
                r.GetString(2),
                r.GetString(3),
                NullableString(r, 4),
                NullableString(r, 5),
                r.GetString(6),
                NullableString(r, 7),
                Long(r, 8),
                r.GetString(9),
                (int)Long(r, 10),
                r.GetString(11),
                Long(r, 12),
                r.GetString(13),
                NullableString(r, 14),
                Long(r, 15)));
        }

        return found;
    }

    /// <inheritdoc />
    public async Task<long?> LeaseChannelAsync(string channel, string owner, long nowUs, long untilUs, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        await ExecAsync(c, tx, "INSERT INTO notification_channels (channel, delivered_seq, owner, lease_until_us) VALUES (@c, 0, NULL, 0) ON CONFLICT (channel) DO NOTHING", cancellationToken, ("@c", channel));
        var taken = await ExecAsync(
            c,
            tx,
            "UPDATE notification_channels SET owner = @o, lease_until_us = @u WHERE channel = @c AND (owner IS NULL OR owner = @o OR lease_until_us < @now)",
            cancellationToken,
            ("@o", owner),
            ("@u", untilUs),
            ("@c", channel),
            ("@now", nowUs));
        var cursor = taken == 1 ? await ScalarAsync(c, tx, "SELECT delivered_seq FROM notification_channels WHERE channel = @c", cancellationToken, ("@c", channel)) : null;
        await tx.CommitAsync(cancellationToken);
        return cursor is null ? null : Convert.ToInt64(cursor, CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public async Task<bool> MarkDeliveredAsync(string channel, string owner, long seq, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        return await MoveCursorAsync(c, null, channel, owner, seq, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> DeadLetterAsync(string channel, string owner, long seq, int attempts, string error, long atUs, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        if (!await MoveCursorAsync(c, tx, channel, owner, seq, cancellationToken))
        {
            return false;
        }

        await ExecAsync(
            c,
            tx,
            "INSERT INTO notification_dead_letters (channel, seq, attempts, error, at_us) VALUES (@c, @s, @a, @e, @t) ON CONFLICT (channel, seq) DO NOTHING",
            cancellationToken,
            ("@c", channel),
            ("@s", seq),
            ("@a", attempts),
            ("@e", error),
            ("@t", atUs));
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<NotificationDeadLetter>> ListNotificationDeadLettersAsync(string? channel, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var cmd = channel is null
            ? Command(c, null, "SELECT channel, seq, attempts, error, at_us FROM notification_dead_letters ORDER BY at_us, seq")
            : Command(c, null, "SELECT channel, seq, attempts, error, at_us FROM notification_dead_letters WHERE channel = @c ORDER BY at_us, seq", ("@c", channel));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        var found = new List<NotificationDeadLetter>();
        while (await r.ReadAsync(cancellationToken))
        {
            found.Add(new NotificationDeadLetter(r.GetString(0), Long(r, 1), (int)Long(r, 2), r.GetString(3), Long(r, 4)));
        }

        return found;
    }

    /// <summary>Moves the cursor forward only, and only for the lease holder.</summary>
    private static async Task<bool> MoveCursorAsync(DbConnection c, DbTransaction? tx, string channel, string owner, long seq, CancellationToken ct) =>
        await ExecAsync(c, tx, "UPDATE notification_channels SET delivered_seq = @s WHERE channel = @c AND owner = @o AND delivered_seq < @s", ct, ("@s", seq), ("@c", channel), ("@o", owner)) == 1;

    private static long Long(DbDataReader r, int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);
}
