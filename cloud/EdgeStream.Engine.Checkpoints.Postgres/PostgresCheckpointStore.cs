using System.Globalization;
using EdgeStream.Engine.Checkpoints;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace EdgeStream.Engine.Checkpoints.Postgres;

/// <summary>
/// Checkpoints as rows of one PostgreSQL table, keyed by job, partition and checkpoint id. A save is one
/// transaction (insert the new row, delete those beyond the retention count), so a reader sees a
/// checkpoint whole or not at all; each row also carries the payload's CRC-32C, and a row that does not
/// verify is skipped (logged and counted) in favour of the previous, as the file store does.
/// </summary>
/// <remarks>
/// The table is created on first use under an advisory lock, so workers that start together do not
/// race. Several jobs (or deployments) share one table through <c>job</c>.
/// </remarks>
public sealed partial class PostgresCheckpointStore : ICheckpointStore, IAsyncDisposable
{
    private const long SchemaLock = 0x45_53_43_6B_70_74; // "ESCkpt"
    private readonly NpgsqlDataSource _source;
    private readonly bool _ownsSource;
    private readonly string _job;
    private readonly int _retained;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;
    private long _rejected;

    /// <summary>Creates a store for <paramref name="job"/> over <paramref name="source"/>, keeping <paramref name="retained"/> checkpoints per partition.</summary>
    public PostgresCheckpointStore(NpgsqlDataSource source, string job, int retained = 3, ILogger? logger = null)
        : this(source, false, job, retained, logger)
    {
    }

    private PostgresCheckpointStore(NpgsqlDataSource source, bool ownsSource, string job, int retained, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(job);
        ArgumentOutOfRangeException.ThrowIfLessThan(retained, 1);
        _source = source;
        _ownsSource = ownsSource;
        _job = job;
        _retained = retained;
        _log = logger ?? NullLogger.Instance;
    }

    /// <summary>Opens a store on <paramref name="connectionString"/> (Npgsql form); the store owns the connections.</summary>
    public static PostgresCheckpointStore Open(string connectionString, string job, int retained = 3, ILogger? logger = null) =>
        new(NpgsqlDataSource.Create(connectionString), true, job, retained, logger);

    /// <summary>Rows found not to verify since start.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    /// <inheritdoc />
    public async ValueTask SaveAsync(int partition, long checkpointId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfLessThan(checkpointId, 1);
        await EnsureSchemaAsync(cancellationToken);
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO engine_checkpoints (job, partition, checkpoint_id, crc32c, payload)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (job, partition, checkpoint_id) DO UPDATE SET crc32c = EXCLUDED.crc32c, payload = EXCLUDED.payload, saved_at = now()
            """,
            connection,
            tx))
        {
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _job });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = partition });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpointId });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Crc32C.Compute(payload.Span) });
            insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = payload, NpgsqlDbType = NpgsqlDbType.Bytea });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var prune = new NpgsqlCommand(
            """
            DELETE FROM engine_checkpoints
            WHERE job = $1 AND partition = $2 AND checkpoint_id < (
                SELECT checkpoint_id FROM engine_checkpoints WHERE job = $1 AND partition = $2
                ORDER BY checkpoint_id DESC OFFSET $3 LIMIT 1) + 1
            """,
            connection,
            tx))
        {
            prune.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _job });
            prune.Parameters.Add(new NpgsqlParameter<int> { TypedValue = partition });
            prune.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _retained });
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<CheckpointData?> LoadLatestAsync(int partition, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand(
            "SELECT checkpoint_id, crc32c, payload FROM engine_checkpoints WHERE job = $1 AND partition = $2 ORDER BY checkpoint_id DESC",
            connection);
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _job });
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = partition });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetInt64(0);
            var expected = reader.GetInt64(1);
            var payload = (byte[])reader.GetValue(2);
            var actual = Crc32C.Compute(payload);
            if (actual != expected)
            {
                Interlocked.Increment(ref _rejected);
                LogRejected(_log, partition, id, string.Create(CultureInfo.InvariantCulture, $"CRC-32C {actual:x8} does not match {expected:x8}"));
                continue;
            }

            return new CheckpointData(partition, id, payload);
        }

        return null;
    }

    /// <inheritdoc />
    public async ValueTask<long> HighestIdAsync(int partition, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var select = new NpgsqlCommand("SELECT COALESCE(MAX(checkpoint_id), 0) FROM engine_checkpoints WHERE job = $1 AND partition = $2", connection);
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _job });
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = partition });
        return (long)(await select.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _schemaGate.Dispose();
        if (_ownsSource)
        {
            await _source.DisposeAsync();
        }
    }

    private async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (_schemaReady)
        {
            return;
        }

        await _schemaGate.WaitAsync(cancellationToken);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            await using var connection = await _source.OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await using (var cmd = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({SchemaLock.ToString(CultureInfo.InvariantCulture)})", connection, tx))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var cmd = new NpgsqlCommand(
                """
                CREATE TABLE IF NOT EXISTS engine_checkpoints (
                    job TEXT NOT NULL,
                    partition INTEGER NOT NULL,
                    checkpoint_id BIGINT NOT NULL,
                    crc32c BIGINT NOT NULL,
                    payload BYTEA NOT NULL,
                    saved_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (job, partition, checkpoint_id))
                """,
                connection,
                tx))
            {
                await cmd.ExecuteNonQueryAsync(cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    [LoggerMessage(EventId = 7111, Level = LogLevel.Warning, Message = "Checkpoint {CheckpointId} of partition {Partition} in PostgreSQL is unusable ({Reason}); trying the previous one")]
    private static partial void LogRejected(ILogger logger, int partition, long checkpointId, string reason);
}
