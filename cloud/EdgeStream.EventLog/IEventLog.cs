namespace EdgeStream.EventLog;

/// <summary>
/// The partitioned event log between ingest and the stream service: the one small contract both the
/// embedded log and Kafka implement, so the rest of the cloud does not know which one runs.
/// </summary>
/// <remarks>
/// Ordering: records with the same key go to the same partition (<see cref="LogPartitioner"/>) and keep
/// their append order there. Durability: when <see cref="AppendAsync"/> completes, the records survive
/// a crash of this process and a power cut (embedded: fsync; Kafka: acks=all on an idempotent producer).
/// </remarks>
public interface IEventLog : IAsyncDisposable
{
    /// <summary>The log's name (the Kafka topic, or the embedded log's folder).</summary>
    string Name { get; }

    /// <summary>How many partitions the log has; fixed for its lifetime.</summary>
    int PartitionCount { get; }

    /// <summary>
    /// Appends <paramref name="messages"/> and completes once all of them are durable, returning each
    /// one's position in the same order. Concurrent calls are committed together (group commit).
    /// </summary>
    /// <exception cref="EventLogException">The log could not make the records durable; none of them should be considered written.</exception>
    Task<IReadOnlyList<LogPosition>> AppendAsync(IReadOnlyList<LogMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>The oldest kept and the next offset of <paramref name="partition"/>.</summary>
    Task<PartitionOffsets> GetOffsetsAsync(int partition, CancellationToken cancellationToken = default);

    /// <summary>Joins the consumer group named in <paramref name="options"/>; partitions are shared among the group's live members.</summary>
    IEventLogConsumer CreateConsumer(LogConsumerOptions options);
}

/// <summary>
/// A member of a consumer group: reads records from its assigned partitions, starting at the group's
/// committed offsets, and commits how far it has processed. Not thread-safe: one consuming loop per member.
/// </summary>
public interface IEventLogConsumer : IDisposable
{
    /// <summary>The group this member belongs to.</summary>
    string GroupId { get; }

    /// <summary>The partitions this member currently owns (as of its last <see cref="ConsumeAsync"/>).</summary>
    IReadOnlyList<int> Assignment { get; }

    /// <summary>
    /// Returns the next records of the assigned partitions, waiting up to <paramref name="maxWait"/> for some
    /// to arrive; empty when none did. Records are returned in offset order per partition.
    /// </summary>
    ValueTask<IReadOnlyList<LogRecord>> ConsumeAsync(TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>Moves this member's read position in an assigned partition (e.g. to a checkpoint's offset).</summary>
    void Seek(int partition, long offset);

    /// <summary>Durably records, for the group, the next offset to read in each partition (the last processed offset + 1).</summary>
    Task CommitAsync(IReadOnlyList<LogPosition> nextOffsets, CancellationToken cancellationToken = default);

    /// <summary>The group's committed next offset for <paramref name="partition"/>, or null when none.</summary>
    Task<long?> GetCommittedAsync(int partition, CancellationToken cancellationToken = default);
}

/// <summary>The log failed to make records durable or to read them back; the message says where.</summary>
public sealed class EventLogException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventLogException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public EventLogException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public EventLogException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
