using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.Checkpoints.Postgres;
using Npgsql;

namespace EdgeStream.Engine.Checkpoints.Tests;

/// <summary>
/// One contract for every checkpoint store the engine can use: the file store of one machine and the
/// PostgreSQL store that stream workers on several machines share. Each keeps the newest checkpoints
/// per partition up to its retention, hands back the newest that verifies, skips a corrupted one for
/// the previous, keeps partitions and jobs apart, and a second instance (another worker) sees what the
/// first saved.
/// </summary>
public abstract class CheckpointStoreContract
{
    /// <summary>A new store; calling it twice gives two instances over the same storage (two workers).</summary>
    protected abstract ICheckpointStore Open(string job, int retained);

    /// <summary>Damages the stored bytes of one checkpoint.</summary>
    protected abstract Task CorruptAsync(string job, int partition, long checkpointId);

    protected abstract string Job { get; }

    [Fact]
    public async Task The_newest_checkpoint_comes_back_whole_and_old_ones_beyond_retention_go()
    {
        var store = Open(Job, retained: 2);
        Assert.Null(await store.LoadLatestAsync(0, default));
        Assert.Equal(0, await store.HighestIdAsync(0, default));
        for (long id = 1; id <= 5; id++)
        {
            await store.SaveAsync(0, id, Payload(id, 10_000), default);
        }

        var latest = await store.LoadLatestAsync(0, default);
        Assert.NotNull(latest);
        Assert.Equal(5, latest.CheckpointId);
        Assert.Equal(Payload(5, 10_000), latest.Payload);
        Assert.Equal(5, await store.HighestIdAsync(0, default));

        // Retention 2: corrupting the newest falls back to 4; with 4 corrupted too nothing verifies (3 was pruned).
        await CorruptAsync(Job, 0, 5);
        Assert.Equal(4, (await store.LoadLatestAsync(0, default))!.CheckpointId);
        await CorruptAsync(Job, 0, 4);
        Assert.Null(await store.LoadLatestAsync(0, default));
        Assert.Equal(5, await store.HighestIdAsync(0, default));
    }

    [Fact]
    public async Task Another_worker_restores_what_the_first_saved_and_partitions_and_jobs_stay_apart()
    {
        var first = Open(Job, retained: 3);
        await first.SaveAsync(1, 7, Payload(7, 3), default);
        await first.SaveAsync(2, 9, Payload(9, 1_000_000), default);
        await first.SaveAsync(1, 8, Payload(8, 0), default);

        var second = Open(Job, retained: 3);
        Assert.Equal(Payload(8, 0), (await second.LoadLatestAsync(1, default))!.Payload);
        Assert.Equal(Payload(9, 1_000_000), (await second.LoadLatestAsync(2, default))!.Payload);
        Assert.Null(await second.LoadLatestAsync(3, default));

        var otherJob = Open(Job + "-other", retained: 3);
        Assert.Null(await otherJob.LoadLatestAsync(1, default));
        Assert.Equal(0, await otherJob.HighestIdAsync(2, default));

        // Saving an id again (a retry after a failure that left the first attempt in place) replaces it.
        await second.SaveAsync(1, 8, Payload(80, 5), default);
        Assert.Equal(Payload(80, 5), (await first.LoadLatestAsync(1, default))!.Payload);
    }

    protected static byte[] Payload(long seed, int length)
    {
        var bytes = new byte[length];
        new Random((int)seed).NextBytes(bytes);
        return bytes;
    }
}

[Trait("Capability", "Engine")]
public sealed class File_checkpoint_store : CheckpointStoreContract, IDisposable
{
    private readonly TempDirectory _dir = new();

    protected override string Job => "job";

    protected override ICheckpointStore Open(string job, int retained) => new FileCheckpointStore(Path.Combine(_dir.Path, job), retained);

    protected override async Task CorruptAsync(string job, int partition, long checkpointId)
    {
        var path = new FileCheckpointStore(Path.Combine(_dir.Path, job)).PathOf(partition, checkpointId);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[^10] ^= 0xFF;
        await File.WriteAllBytesAsync(path, bytes);
    }

    public void Dispose() => _dir.Dispose();
}

[Trait("Capability", "Engine")]
[Collection(PostgresCollection.Name)]
public sealed class Postgres_checkpoint_store(PostgresServer server) : CheckpointStoreContract, IAsyncLifetime
{
    private readonly List<PostgresCheckpointStore> _opened = [];
    private string _connectionString = string.Empty;

    protected override string Job { get; } = "job-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync() => _connectionString = await server.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var s in _opened)
        {
            await s.DisposeAsync();
        }
    }

    protected override ICheckpointStore Open(string job, int retained)
    {
        var store = PostgresCheckpointStore.Open(_connectionString, job, retained);
        _opened.Add(store);
        return store;
    }

    protected override async Task CorruptAsync(string job, int partition, long checkpointId)
    {
        await using var c = new NpgsqlConnection(_connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("UPDATE engine_checkpoints SET payload = overlay(payload placing '\\xff'::bytea from 1 for 1) WHERE job = $1 AND partition = $2 AND checkpoint_id = $3 AND length(payload) > 0", c);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = job });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = partition });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpointId });
        Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Workers_that_start_together_create_the_table_once()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => Open(Job, 3)).ToList();
        await Task.WhenAll(stores.Select((s, i) => s.SaveAsync(i, 1, Payload(i, 100), default).AsTask()));
        for (var i = 0; i < stores.Count; i++)
        {
            Assert.Equal(Payload(i, 100), (await stores[0].LoadLatestAsync(i, default))!.Payload);
        }
    }
}
