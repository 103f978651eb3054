namespace EdgeStream.Windowing;

/// <summary>
/// Counters of one <see cref="WindowingProcessor"/> since it was created, for metrics export and health
/// checks. Every read the processor did not window normally appears in exactly one counter.
/// </summary>
public readonly record struct WindowingStats
{
    /// <summary>Reads passed to <see cref="WindowingProcessor.OnRead"/>.</summary>
    public long ReadsIn { get; init; }

    /// <summary>Reads refused as invalid (empty EPC, no reader id, event time ≤ 0).</summary>
    public long ReadsInvalid { get; init; }

    /// <summary>Reads from antennas that belong to no zone (deduplicated and forwarded, not arbitrated).</summary>
    public long ReadsUnzoned { get; init; }

    /// <summary>Reads older than the reorder tolerance allows: forwarded, not windowed.</summary>
    public long ReadsLate { get; init; }

    /// <summary>Reads of new tags refused for windowing because <see cref="WindowingOptions.MaxTrackedTags"/> was reached.</summary>
    public long ReadsOverTagCapacity { get; init; }

    /// <summary>Reads processed before their time because the reorder buffer was full.</summary>
    public long ReorderOverflows { get; init; }

    /// <summary>Observations closed before their interval ended because too many were open.</summary>
    public long ObservationsClosedEarly { get; init; }

    /// <summary>Raw reads forwarded (modes All and Sampled).</summary>
    public long ReadsForwarded { get; init; }

    /// <summary>Observations emitted (mode Summaries).</summary>
    public long Observations { get; init; }

    /// <summary>Arrive events.</summary>
    public long Arrivals { get; init; }

    /// <summary>Move events.</summary>
    public long Moves { get; init; }

    /// <summary>Depart events.</summary>
    public long Departures { get; init; }

    /// <summary>Tags tracked now.</summary>
    public int TrackedTags { get; init; }

    /// <summary>Tags present in a zone now.</summary>
    public int PresentTags { get; init; }

    /// <summary>Reads waiting in the reorder buffer now.</summary>
    public int BufferedReads { get; init; }

    /// <summary>Observations open now.</summary>
    public int OpenObservations { get; init; }
}
