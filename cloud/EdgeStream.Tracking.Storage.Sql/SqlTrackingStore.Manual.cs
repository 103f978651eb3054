using System.Data.Common;
using System.Globalization;
using EdgeStream.Contracts;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>Manual events: the outbox between the API and the event log.</summary>
public partial class SqlTrackingStore
{
    private const string ManualColumns = "seq, client_id, asset_id, epc, kind, zone, action, until_us, by_actor, reason, event_us, received_us, appended";

    /// <inheritdoc />
    public async Task<(ManualRecord Record, bool Created)> RecordManualAsync(ManualInput input, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        var seq = await ScalarAsync(
            c,
            tx,
            "INSERT INTO manual_events (client_id, asset_id, epc, kind, zone, action, until_us, by_actor, reason, event_us, received_us) VALUES (@c, @a, @e, @k, @z, @ac, @u, @b, @r, @t, @rt) ON CONFLICT (client_id) DO NOTHING RETURNING seq",
            cancellationToken,
            ("@c", input.ClientId),
            ("@a", input.AssetId),
            ("@e", input.Epc),
            ("@k", KindName(input.Kind)),
            ("@z", input.Zone),
            ("@ac", input.Action),
            ("@u", input.UntilUs),
            ("@b", input.By),
            ("@r", input.Reason),
            ("@t", input.EventUs),
            ("@rt", input.ReceivedUs));
        if (seq is not null)
        {
            var n = Convert.ToInt64(seq, CultureInfo.InvariantCulture);
            await ExecAsync(c, tx, "UPDATE manual_events SET event_id = @i WHERE seq = @s", cancellationToken, ("@i", PlacementRecord.EventIdOf(ManualEvent.Source, (ulong)n, 0)), ("@s", n));
            await tx.CommitAsync(cancellationToken);
            return (new ManualRecord(n, input, false), true);
        }

        var existing = await ReadManualAsync(c, tx, $"SELECT {ManualColumns} FROM manual_events WHERE client_id = @c", cancellationToken, ("@c", input.ClientId));
        await tx.CommitAsync(cancellationToken);
        return (existing[0], false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ManualRecord>> PendingManualAsync(int limit, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        return await ReadManualAsync(c, null, $"SELECT {ManualColumns} FROM manual_events WHERE appended = 0 ORDER BY seq LIMIT {limit.ToString(CultureInfo.InvariantCulture)}", cancellationToken);
    }

    /// <inheritdoc />
    public async Task MarkManualAppendedAsync(IReadOnlyList<long> sequences, CancellationToken cancellationToken)
    {
        await using var c = await _dialect.OpenAsync(cancellationToken);
        await using var tx = await c.BeginTransactionAsync(cancellationToken);
        foreach (var s in sequences)
        {
            await ExecAsync(c, tx, "UPDATE manual_events SET appended = 1 WHERE seq = @s", cancellationToken, ("@s", s));
        }

        await tx.CommitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<Page<ManualRecord>> ListManualAsync(string? assetId, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        var args = new List<(string, object?)>();
        if (assetId is not null)
        {
            where.Add("asset_id = @a");
            args.Add(("@a", assetId));
        }

        if (cursor is not null)
        {
            where.Add("seq < @s");
            args.Add(("@s", Cursor.Long(Cursor.Decode(cursor, 1)[0], cursor)));
        }

        var sql = $"SELECT {ManualColumns} FROM manual_events" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") +
            $" ORDER BY seq DESC LIMIT {(limit + 1).ToString(CultureInfo.InvariantCulture)}";
        await using var c = await _dialect.OpenAsync(cancellationToken);
        var items = await ReadManualAsync(c, null, sql, cancellationToken, [.. args]);
        var more = items.Count > limit;
        var page = more ? items.Take(limit).ToList() : items;
        return new Page<ManualRecord>(page, more ? Cursor.Encode(page[^1].Sequence.ToString(CultureInfo.InvariantCulture)) : null);
    }


    internal static string KindName(ManualKind kind) => kind.ToString().ToLowerInvariant();

    internal static ManualKind? KindOf(string? name) =>
        Enum.TryParse<ManualKind>(name, ignoreCase: true, out var k) && Enum.IsDefined(k) && !int.TryParse(name, out _) ? k : null;

    private static async Task<List<ManualRecord>> ReadManualAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ManualRecord>();
        while (await r.ReadAsync(ct))
        {
            var input = new ManualInput(
                r.GetString(1),
                NullableString(r, 2),
                r.GetString(3),
                KindOf(r.GetString(4)) ?? throw new InvalidDataException($"manual_events holds the kind '{r.GetString(4)}', which this build does not know."),
                NullableString(r, 5),
                NullableString(r, 6),
                Convert.ToInt64(r.GetValue(7), CultureInfo.InvariantCulture),
                r.GetString(8),
                NullableString(r, 9),
                Convert.ToInt64(r.GetValue(10), CultureInfo.InvariantCulture),
                Convert.ToInt64(r.GetValue(11), CultureInfo.InvariantCulture));
            list.Add(new ManualRecord(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), input, Convert.ToInt64(r.GetValue(12), CultureInfo.InvariantCulture) != 0));
        }

        return list;
    }
}
