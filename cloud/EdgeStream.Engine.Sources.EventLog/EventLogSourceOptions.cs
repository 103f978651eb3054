using EdgeStream.EventLog;

namespace EdgeStream.Engine.Sources.EventLog;

/// <summary>
/// How a stream-service instance reads the event log: its consumer group and the sizes of the hand-over
/// between the log's consumer and the partitions' tasks. Immutable; validated when the source starts.
/// </summary>
public sealed record EventLogSourceOptions
{
    /// <summary>The consumer group; every instance of one job uses the same group and so shares the partitions.</summary>
    public required string GroupId { get; init; }

    /// <summary>Most records one read of the log returns (the consumer's batch).</summary>
    public int MaxBatchRecords { get; init; } = 4096;

    /// <summary>Records per hand-over chunk from the consumer to a partition's task.</summary>
    public int ChunkRecords { get; init; } = 1024;

    /// <summary>
    /// Chunks that may wait for one partition's task (a bounded channel, full mode Wait): when a task
    /// falls behind, the consumer stops fetching rather than buffer without bound.
    /// </summary>
    public int ChunksPerPartition { get; init; } = 8;

    /// <summary>Longest wait of one read of the log.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often the log's end offsets are asked for (offset lag, and whether a partition is read to its end).</summary>
    public TimeSpan EndOffsetRefresh { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for the consumer-group commit after a checkpoint (the commit is advisory: recovery reads the checkpoint).</summary>
    public TimeSpan CommitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A bounded run (reprocessing a range, backfill): partition <c>p</c> is read up to the offset this returns
    /// (exclusive) and then reported ended, so the task takes its final checkpoint. Null, or null for a
    /// partition: read without end.
    /// </summary>
    public Func<int, long?>? EndAt { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public EventLogSourceOptions Validate()
    {
        new LogConsumerOptions { GroupId = GroupId, MaxBatchRecords = MaxBatchRecords }.Validate();
        if (ChunkRecords is < 1 or > 1_000_000)
        {
            throw new ArgumentException($"EventLogSource:ChunkRecords = {ChunkRecords} is invalid; allowed: 1..1000000.", nameof(ChunkRecords));
        }

        if (ChunksPerPartition is < 1 or > 1024)
        {
            throw new ArgumentException($"EventLogSource:ChunksPerPartition = {ChunksPerPartition} is invalid; allowed: 1..1024.", nameof(ChunksPerPartition));
        }

        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentException($"EventLogSource:PollInterval = {PollInterval} is invalid; allowed: above 0 up to 10 s.", nameof(PollInterval));
        }

        if (EndOffsetRefresh < TimeSpan.FromMilliseconds(10) || EndOffsetRefresh > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"EventLogSource:EndOffsetRefresh = {EndOffsetRefresh} is invalid; allowed: 10 ms..10 min.", nameof(EndOffsetRefresh));
        }

        if (CommitTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"EventLogSource:CommitTimeout = {CommitTimeout} is invalid; allowed: above 0.", nameof(CommitTimeout));
        }

        return this;
    }
}
