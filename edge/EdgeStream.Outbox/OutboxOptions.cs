using EdgeStream.Contracts;

namespace EdgeStream.Outbox;

/// <summary>
/// Per data class settings: how big its batches get and in what order its data is given up when
/// the outbox is over its limits.
/// </summary>
public sealed record DataClassOptions
{
    /// <summary>Records per batch at most; a batch is also sealed at every group commit.</summary>
    public int MaxBatchRecords { get; init; } = 2000;

    /// <summary>Overflow order: the class with the lowest value loses its oldest batches first.</summary>
    public int DropOrder { get; init; }
}

/// <summary>
/// Settings of the durable outbox. Defaults live here and nowhere else; <see cref="Validate"/> names
/// the configuration key of anything out of range.
/// </summary>
public sealed record OutboxOptions
{
    /// <summary>The gateway whose batches these are (stamped in every batch).</summary>
    public required string GatewayId { get; init; }

    /// <summary>
    /// Longest time an appended read waits in memory before its group is written and synced
    /// (the bounded delay of group commit). Key <c>outbox-commit-interval</c>.
    /// </summary>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of the outbox's segment files on disk. Key <c>outbox-max-bytes</c>.</summary>
    public long MaxBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Batches older than this are dropped (counted and logged). Key <c>outbox-max-age</c>.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(14);

    /// <summary>Size of one segment file: the unit in which disk space is reclaimed. Key <c>outbox-segment-bytes</c>.</summary>
    public long SegmentBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// Queued appends (of up to <see cref="Outbox.MaxItemRecords"/> records each) that may wait for the
    /// writer before producers are made to wait. Key <c>outbox-ingest-capacity</c>.
    /// </summary>
    public int IngestCapacity { get; init; } = 256;

    /// <summary>Raw reads: big batches, dropped first.</summary>
    public DataClassOptions Reads { get; init; } = new() { MaxBatchRecords = 2000, DropOrder = 0 };

    /// <summary>Presence events: small batches, dropped last.</summary>
    public DataClassOptions Presence { get; init; } = new() { MaxBatchRecords = 500, DropOrder = 1 };

    /// <summary>Settings of one class.</summary>
    public DataClassOptions For(DataClass dataClass) => dataClass == DataClass.Presence ? Presence : Reads;

    /// <summary>Throws <see cref="OptionsException"/> naming the first key out of range.</summary>
    public void Validate()
    {
        if (!Topics.IsValidGatewayId(GatewayId))
        {
            throw new OptionsException("gateway-id", $"'{GatewayId}' is not a valid gateway id: 1..{Topics.MaxGatewayIdLength} characters of a-z, A-Z, 0-9, '-', '_', '.'.");
        }

        if (CommitInterval < TimeSpan.FromMilliseconds(1) || CommitInterval > TimeSpan.FromSeconds(10))
        {
            throw new OptionsException("outbox-commit-interval", $"{CommitInterval} is outside 1 ms..10 s.");
        }

        if (SegmentBytes < 64 * 1024 || SegmentBytes > 1L << 30)
        {
            throw new OptionsException("outbox-segment-bytes", $"{SegmentBytes} is outside 64 KiB..1 GiB.");
        }

        if (MaxBytes < 4 * SegmentBytes)
        {
            throw new OptionsException("outbox-max-bytes", $"{MaxBytes} must be at least 4 × outbox-segment-bytes ({4 * SegmentBytes}), so space can be reclaimed a segment at a time.");
        }

        if (MaxAge < TimeSpan.FromMinutes(1))
        {
            throw new OptionsException("outbox-max-age", $"{MaxAge} is shorter than 1 minute.");
        }

        if (IngestCapacity is < 1 or > 1_000_000)
        {
            throw new OptionsException("outbox-ingest-capacity", $"{IngestCapacity} is outside 1..1000000.");
        }

        foreach (var (key, o) in new[] { ("outbox-reads-batch-records", Reads), ("outbox-presence-batch-records", Presence) })
        {
            if (o.MaxBatchRecords is < 1 or > 50_000)
            {
                throw new OptionsException(key, $"{o.MaxBatchRecords} is outside 1..50000.");
            }
        }
    }
}

/// <summary>A configuration value out of range; <see cref="Key"/> is the key an operator sets.</summary>
public sealed class OptionsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OptionsException(string key, string problem)
        : base($"Configuration key '{key}': {problem}")
    {
        Key = key;
    }

    /// <summary>The configuration key at fault.</summary>
    public string Key { get; }
}
