namespace EdgeStream.Engine;

/// <summary>
/// The identity of an output, the same on every replay of the same log: the key's stable hash, the
/// event time at which the key's current state was opened, and the output's number within that state.
/// An idempotent sink that stores by (key, <see cref="Origin"/>, <see cref="Sequence"/>) turns the
/// re-emissions of a replay after a crash into no-ops.
/// </summary>
public readonly record struct OutputId(ulong KeyHash, long Origin, long Sequence)
{
    /// <summary>Compact text form, <c>hash-origin-sequence</c> in hexadecimal.</summary>
    public override string ToString() => $"{KeyHash:x16}-{Origin:x}-{Sequence:x}";
}

/// <summary>One output of a job, with the key it belongs to and its deterministic id.</summary>
public readonly record struct Output<TKey, TOutput>(TKey Key, OutputId Id, long Timestamp, int Partition, TOutput Value);

/// <summary>
/// Where a job's outputs go. Sinks must be idempotent by (key, <see cref="OutputId"/>): after a crash,
/// the engine replays from the last checkpoint and emits the same outputs with the same ids again.
/// Shared by every task of a runner, so implementations are thread-safe.
/// </summary>
public interface IOutputSink<TKey, TOutput>
{
    /// <summary>Accepts one output. May buffer; must not block for long.</summary>
    void Write(in Output<TKey, TOutput> output);

    /// <summary>
    /// Makes every output written before the call durable. A checkpoint completes only after this
    /// returns, because outputs before a checkpoint are never emitted again.
    /// </summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A sink that commits a partition's outputs together with that partition's input position, atomically
/// (a Kafka transaction carrying the consumer offsets). The runner calls <see cref="CommitAsync"/> in
/// place of <see cref="IOutputSink{TKey,TOutput}.FlushAsync"/> when a checkpoint of the partition completes.
/// </summary>
public interface ITransactionalOutputSink<TKey, TOutput> : IOutputSink<TKey, TOutput>
{
    /// <summary>
    /// Makes every output of <paramref name="partition"/> written before the call durable and visible,
    /// in one transaction with the input position <paramref name="nextOffset"/> of that partition.
    /// </summary>
    ValueTask CommitAsync(int partition, long nextOffset, CancellationToken cancellationToken);
}

/// <summary>Why a record went to the side output instead of keyed processing.</summary>
public enum SideReason : byte
{
    /// <summary>Later than the watermark by more than the allowed lateness.</summary>
    Late = 1,

    /// <summary>The job could not decode the record.</summary>
    Malformed = 2,
}

/// <summary>
/// A log record that was not processed, kept with everything needed to look at it or replay it by
/// hand. Its id, (partition, offset), is the same on every replay.
/// </summary>
public sealed record SideRecord(
    SideReason Reason,
    int Partition,
    long Offset,
    long EventTime,
    long Watermark,
    ulong Source,
    byte[] Key,
    byte[] Value,
    string Detail);

/// <summary>Stores side records (late and malformed). Idempotent by (partition, offset); thread-safe.</summary>
public interface ISideOutput
{
    /// <summary>Accepts one record.</summary>
    void Write(SideRecord record);

    /// <summary>Makes every record written before the call durable (as <see cref="IOutputSink{TKey,TOutput}.FlushAsync"/>).</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}
