using EdgeStream.Contracts.Wire;
using EdgeStream.Gateways;

namespace EdgeStream.Ingest;

/// <summary>Settings of the ingest pipeline, with the defaults in one place. Validated when the pipeline opens.</summary>
public sealed record IngestOptions
{
    /// <summary>Folder for the ingest's own durable state: the dedupe journal and the dead-letter store. Required.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Largest payload accepted; larger ones are dead-lettered as <c>oversize</c>.</summary>
    public int MaxPayloadBytes { get; init; } = WireLimits.MaxPayloadBytes;

    /// <summary>Most raw bytes kept per dead letter (the original length is always recorded).</summary>
    public int MaxDeadLetterPayloadBytes { get; init; } = 1024 * 1024;

    /// <summary>Bytes of dead letters kept on disk; beyond it the older file is dropped (and counted).</summary>
    public long MaxDeadLetterBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// Gaps in a gateway's sequence numbers remembered for dedupe. A gap is left by a batch that has not
    /// arrived (yet); past this many, the oldest gaps are closed, so a batch arriving into one of them
    /// is treated as a duplicate. Gaps are rare (the edge drops batches only on buffer overflow).
    /// </summary>
    public int MaxDedupeGapsPerGateway { get; init; } = 10_000;

    /// <summary>
    /// Records per partition read back from the end of the log at open to find batches appended just
    /// before a crash whose dedupe marks were not yet durable (0 turns this off). It must exceed the
    /// records that can be in flight at once.
    /// </summary>
    public int DedupeRecoveryRecordsPerPartition { get; init; } = 200_000;

    /// <summary>How long reading that tail may take before start-up fails.</summary>
    public TimeSpan DedupeRecoveryTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A gateway's clock skew within this is not corrected (see <see cref="ClockSkew"/>).</summary>
    public TimeSpan ClockSkewThreshold { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a clock sample counts in the skew estimate.</summary>
    public TimeSpan ClockSkewWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(StateDirectory))
        {
            throw new ArgumentException("IngestOptions.StateDirectory is required.", nameof(StateDirectory));
        }

        if (MaxPayloadBytes is < 64 or > WireLimits.MaxPayloadBytes)
        {
            throw new ArgumentException($"IngestOptions.MaxPayloadBytes {MaxPayloadBytes} is outside 64..{WireLimits.MaxPayloadBytes}.", nameof(MaxPayloadBytes));
        }

        if (MaxDeadLetterPayloadBytes is < 0 or > 64 * 1024 * 1024)
        {
            throw new ArgumentException($"IngestOptions.MaxDeadLetterPayloadBytes {MaxDeadLetterPayloadBytes} is outside 0..67108864.", nameof(MaxDeadLetterPayloadBytes));
        }

        if (MaxDeadLetterBytes < 2L * (MaxDeadLetterPayloadBytes + 4096))
        {
            throw new ArgumentException($"IngestOptions.MaxDeadLetterBytes {MaxDeadLetterBytes} must hold at least two dead letters of MaxDeadLetterPayloadBytes.", nameof(MaxDeadLetterBytes));
        }

        if (DedupeRecoveryRecordsPerPartition < 0)
        {
            throw new ArgumentException($"IngestOptions.DedupeRecoveryRecordsPerPartition {DedupeRecoveryRecordsPerPartition} must be 0 (off) or positive.", nameof(DedupeRecoveryRecordsPerPartition));
        }

        if (DedupeRecoveryTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"IngestOptions.DedupeRecoveryTimeout {DedupeRecoveryTimeout} must be positive.", nameof(DedupeRecoveryTimeout));
        }

        if (ClockSkewThreshold < TimeSpan.Zero || ClockSkewWindow < TimeSpan.FromSeconds(10))
        {
            throw new ArgumentException($"IngestOptions.ClockSkewThreshold {ClockSkewThreshold} must be 0 or more and ClockSkewWindow {ClockSkewWindow} at least 10 s.", nameof(ClockSkewThreshold));
        }

        if (MaxDedupeGapsPerGateway is < 1 or > 10_000_000)
        {
            throw new ArgumentException($"IngestOptions.MaxDedupeGapsPerGateway {MaxDedupeGapsPerGateway} is outside 1..10000000.", nameof(MaxDedupeGapsPerGateway));
        }
    }
}
