using System.Data.Common;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>What differs between the relational providers; everything else is shared SQL.</summary>
public abstract class SqlDialect
{
    /// <summary>The provider's name.</summary>
    public abstract string Provider { get; }

    /// <summary>The column definition of a 64-bit auto-numbered primary key.</summary>
    public abstract string IdentityPrimaryKey { get; }

    /// <summary>Opens a connection.</summary>
    public abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Statements that create the history table (a provider may partition it).</summary>
    public abstract IReadOnlyList<string> CreateHistory();

    /// <summary>Set-based placement writes, or null where a statement per row costs little (an in-process database).</summary>
    public virtual IBulkHistory? Bulk => null;

    /// <summary>Serialises migrations across processes, inside the migration's transaction.</summary>
    public virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called after each write transaction that added history, so a partitioning provider can keep partitions ahead.</summary>
    public virtual Task PrepareHistoryAsync(DbConnection connection, long fromUs, long toUs, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Deletes history that ended before <paramref name="beforeUs"/>; a partitioning provider drops whole partitions first.</summary>
    public virtual async Task<long> PurgeHistoryAsync(DbConnection connection, long beforeUs, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            // Batched, so a large purge never holds a long write lock.
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "DELETE FROM history WHERE (epc, from_us) IN (SELECT epc, from_us FROM history WHERE to_us IS NOT NULL AND to_us < @before LIMIT 5000)";
            SqlTrackingStore.Add(cmd, "@before", beforeUs);
            var n = await cmd.ExecuteNonQueryAsync(cancellationToken);
            total += n;
            if (n < 5000)
            {
                return total;
            }
        }
    }
}
