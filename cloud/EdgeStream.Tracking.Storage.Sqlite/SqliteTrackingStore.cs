using System.Data.Common;
using EdgeStream.Tracking.Storage.Sql;
using Microsoft.Data.Sqlite;

namespace EdgeStream.Tracking.Storage.Sqlite;

/// <summary>
/// The embedded default: one SQLite file. SQLite was chosen over LiteDB (which the edge uses) because
/// history queries are range scans and joins over two indexes, which SQL states plainly and SQLite's
/// planner serves from covering indexes; and because the same statements then run on PostgreSQL, so
/// one implementation and one contract suite cover both.
/// </summary>
public sealed class SqliteTrackingStore : SqlTrackingStore
{
    private readonly string _connectionString;

    private SqliteTrackingStore(SqliteDialect dialect, string connectionString)
        : base(dialect) => _connectionString = connectionString;

    /// <summary>The database file.</summary>
    public string Path { get; private init; } = string.Empty;

    /// <summary>Opens (creating if needed) the store in <paramref name="path"/>.</summary>
    public static SqliteTrackingStore Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var cs = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        return new SqliteTrackingStore(new SqliteDialect(cs), cs) { Path = full };
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return base.DisposeAsync();
    }

    /// <summary>The connection string (for tools).</summary>
    public string ConnectionString => _connectionString;

    private sealed class SqliteDialect(string connectionString) : SqlDialect
    {
        public override string Provider => "sqlite";

        public override string IdentityPrimaryKey => "INTEGER PRIMARY KEY AUTOINCREMENT";

        public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            var c = new SqliteConnection(connectionString);
            await c.OpenAsync(cancellationToken);
            await using var cmd = c.CreateCommand();

            // WAL: readers never wait for the writer. synchronous=FULL: a committed flush survives a power
            // cut, since the engine will not emit those outputs again after its checkpoint. A 32 MB page
            // cache per connection keeps the indexes of a million assets hot.
            cmd.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA cache_size = -32768;";
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            return c;
        }

        public override IReadOnlyList<string> CreateHistory() =>
        [
            "CREATE TABLE history (epc TEXT NOT NULL, from_us BIGINT NOT NULL, to_us BIGINT NULL, zone_id BIGINT NULL, gateway_id TEXT NULL, open_event TEXT NULL, close_event TEXT NULL, late INTEGER NOT NULL DEFAULT 0, output_id TEXT NULL, PRIMARY KEY (epc, from_us)) WITHOUT ROWID",
        ];
    }
}
