namespace EdgeStream.Engine.Checkpoints;

/// <summary>A checkpoint read back from a store and verified.</summary>
public sealed record CheckpointData(int Partition, long CheckpointId, byte[] Payload);

/// <summary>
/// Where task checkpoints are kept, per partition. Shared by every instance of a job, so that the
/// instance a partition moves to restores what the previous owner checkpointed. Thread-safe.
/// </summary>
public interface ICheckpointStore
{
    /// <summary>Stores a completed checkpoint durably, then deletes the oldest beyond the retention count.</summary>
    ValueTask SaveAsync(int partition, long checkpointId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>
    /// The newest checkpoint of a partition that verifies; torn or corrupted ones are skipped (logged
    /// and counted) in favour of the previous. Null when there is none.
    /// </summary>
    ValueTask<CheckpointData?> LoadLatestAsync(int partition, CancellationToken cancellationToken);

    /// <summary>The highest checkpoint id present for a partition, valid or not (0 when none), so new ids never collide.</summary>
    ValueTask<long> HighestIdAsync(int partition, CancellationToken cancellationToken);
}
