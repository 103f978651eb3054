namespace EdgeStream.EventLog.Embedded;

/// <summary>Settings of the embedded durable log, with the defaults in one place. Validated at open.</summary>
public sealed record EmbeddedLogOptions
{
    /// <summary>Folder that holds the log (created when missing). Required.</summary>
    public required string Directory { get; init; }

    /// <summary>The log's name; also its sub-folder.</summary>
    public string Name { get; init; } = "edgestream-records";

    /// <summary>Partitions; fixed once the log exists on disk.</summary>
    public int Partitions { get; init; } = 8;

    /// <summary>A segment file is sealed and a new one started beyond this size.</summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Sealed segments whose last write is older than this are deleted; null keeps them by age forever.</summary>
    public TimeSpan? RetentionTime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Oldest sealed segments are deleted while a partition holds more than this; null means no size bound.</summary>
    public long? RetentionBytesPerPartition { get; init; } = 10L * 1024 * 1024 * 1024;

    /// <summary>Largest key + value of one record.</summary>
    public int MaxRecordBytes { get; init; } = 1024 * 1024;

    /// <summary>Append calls waiting for the writer before callers are made to wait (bounded queue, full mode Wait).</summary>
    public int MaxPendingAppends { get; init; } = 4096;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("EmbeddedLogOptions.Directory is required.", nameof(Directory));
        }

        if (!LogConsumerOptions.IsValidName(Name, 128))
        {
            throw new ArgumentException($"EmbeddedLogOptions.Name '{Name}' is not valid: use 1..128 characters of A-Z a-z 0-9 _ . -", nameof(Name));
        }

        if (Partitions is < 1 or > 1024)
        {
            throw new ArgumentException($"EmbeddedLogOptions.Partitions {Partitions} is outside 1..1024.", nameof(Partitions));
        }

        if (SegmentBytes < 4096)
        {
            throw new ArgumentException($"EmbeddedLogOptions.SegmentBytes {SegmentBytes} is below 4096.", nameof(SegmentBytes));
        }

        if (RetentionTime is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentException($"EmbeddedLogOptions.RetentionTime {t} must be positive (or null to keep by age forever).", nameof(RetentionTime));
        }

        if (RetentionBytesPerPartition is { } b && b < SegmentBytes)
        {
            throw new ArgumentException($"EmbeddedLogOptions.RetentionBytesPerPartition {b} must be at least SegmentBytes ({SegmentBytes}).", nameof(RetentionBytesPerPartition));
        }

        if (MaxRecordBytes is < 1 or > 64 * 1024 * 1024)
        {
            throw new ArgumentException($"EmbeddedLogOptions.MaxRecordBytes {MaxRecordBytes} is outside 1..67108864.", nameof(MaxRecordBytes));
        }

        if (MaxPendingAppends is < 1 or > 1_000_000)
        {
            throw new ArgumentException($"EmbeddedLogOptions.MaxPendingAppends {MaxPendingAppends} is outside 1..1000000.", nameof(MaxPendingAppends));
        }
    }
}
