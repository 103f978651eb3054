namespace EdgeStream.Contracts;

/// <summary>
/// The class of data a batch carries. Each class has its own upload and overflow settings on the
/// edge: raw reads are dropped first when the buffer is full, alerts last.
/// </summary>
public enum DataClass : byte
{
    /// <summary>Raw (or deduplicated) tag reads.</summary>
    Reads = 1,

    /// <summary>Arrive / move / depart events from edge windowing.</summary>
    Presence = 2,

    /// <summary>Manual events (<see cref="ManualEvent"/>): in the event log only, never in a gateway's batch.</summary>
    Manual = 3,

    /// <summary>
    /// A gateway's watermark mark, in the event log only: every event of the gateway older than the mark's
    /// time is in the log. Ingest appends one to each partition when a gateway's status says so, so that
    /// event time moves on a quiet site (an absence fires at its deadline with no further read).
    /// </summary>
    Mark = 4,
}

/// <summary>
/// The unit the edge publishes and the cloud ingests: a gateway's numbered batch of reads or
/// presence events. <see cref="Sequence"/> increases by one per batch per gateway, across classes,
/// so the cloud drops a redelivered batch by (gateway, sequence).
/// </summary>
public sealed record Batch
{
    /// <summary>The gateway that produced the batch.</summary>
    public required string GatewayId { get; init; }

    /// <summary>Per-gateway batch sequence number, starting at 1.</summary>
    public required ulong Sequence { get; init; }

    /// <summary>What the batch carries.</summary>
    public required DataClass Class { get; init; }

    /// <summary>When the edge sealed the batch (µs since the Unix epoch, gateway clock).</summary>
    public long CreatedUs { get; init; }

    /// <summary>The reads; empty unless <see cref="Class"/> is <see cref="DataClass.Reads"/>.</summary>
    public IReadOnlyList<TagRead> Reads { get; init; } = [];

    /// <summary>The presence events; empty unless <see cref="Class"/> is <see cref="DataClass.Presence"/>.</summary>
    public IReadOnlyList<PresenceEvent> Events { get; init; } = [];

    /// <summary>Number of records in the batch.</summary>
    public int Count => Class == DataClass.Reads ? Reads.Count : Events.Count;
}
