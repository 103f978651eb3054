namespace EdgeStream.EventLog;

/// <summary>One record to append: a key that decides the partition, an opaque value and its event time.</summary>
/// <param name="Key">Partitioning key (for EdgeStream: the tag's EPC bytes). Records with equal keys stay in order in one partition.</param>
/// <param name="Value">The record's bytes; the log never looks inside.</param>
/// <param name="TimestampUs">Event time, µs since the Unix epoch (UTC).</param>
public readonly record struct LogMessage(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, long TimestampUs);

/// <summary>Where a record lives: its partition and its offset there.</summary>
public readonly record struct LogPosition(int Partition, long Offset);

/// <summary>
/// A record read back from the log. <see cref="Key"/> and <see cref="Value"/> may point into a buffer
/// the consumer reuses: they are valid until the consumer's next <c>ConsumeAsync</c>; copy what must outlive it.
/// </summary>
public readonly record struct LogRecord(int Partition, long Offset, long TimestampUs, ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value);

/// <summary>The offsets a partition currently holds: <see cref="Start"/> is the oldest kept, <see cref="End"/> the next to be written.</summary>
public readonly record struct PartitionOffsets(long Start, long End);

/// <summary>Where a consumer group starts in a partition for which it has no committed offset.</summary>
public enum OffsetReset
{
    /// <summary>The oldest record still kept.</summary>
    Earliest,

    /// <summary>Only records appended from now on.</summary>
    Latest,
}

/// <summary>How a consumer joins the log. Immutable; validated when the consumer is created.</summary>
public sealed record LogConsumerOptions
{
    /// <summary>The consumer group: members share the partitions and the committed offsets. 1..128 of <c>[A-Za-z0-9_.-]</c>.</summary>
    public required string GroupId { get; init; }

    /// <summary>Where to start without a committed offset.</summary>
    public OffsetReset StartFrom { get; init; } = OffsetReset.Earliest;

    /// <summary>
    /// Where to start in a partition newly assigned to this member: an offset (for example from the
    /// stream service's last checkpoint), or null for the group's committed offset (else <see cref="StartFrom"/>).
    /// Called at assignment, before any record of that partition is returned; race-free, unlike a seek
    /// right after assignment.
    /// </summary>
    public Func<int, long?>? StartOffsetFor { get; init; }

    /// <summary>Most records one <c>ConsumeAsync</c> returns.</summary>
    public int MaxBatchRecords { get; init; } = 10_000;

    /// <summary>
    /// Called when partitions are given to this member, before records from them are returned
    /// (embedded: inside <c>ConsumeAsync</c>; Kafka: on the consumer's fetch thread).
    /// </summary>
    public Action<IReadOnlyList<int>>? OnPartitionsAssigned { get; init; }

    /// <summary>
    /// Called when partitions are taken away, before another member gets them: the place to commit what
    /// was processed (embedded: inside <c>ConsumeAsync</c> or <c>Dispose</c>; Kafka: on the fetch thread).
    /// </summary>
    public Action<IReadOnlyList<int>>? OnPartitionsRevoked { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public void Validate()
    {
        if (!IsValidName(GroupId, 128))
        {
            throw new ArgumentException($"LogConsumerOptions.GroupId '{GroupId}' is not valid: use 1..128 characters of A-Z a-z 0-9 _ . -", nameof(GroupId));
        }

        if (MaxBatchRecords is < 1 or > 1_000_000)
        {
            throw new ArgumentException($"LogConsumerOptions.MaxBatchRecords {MaxBatchRecords} is outside 1..1000000.", nameof(MaxBatchRecords));
        }
    }

    internal static bool IsValidName(string? name, int maxLength)
    {
        if (string.IsNullOrEmpty(name) || name.Length > maxLength || name is "." or "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
