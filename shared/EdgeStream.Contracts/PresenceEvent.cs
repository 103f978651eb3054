namespace EdgeStream.Contracts;

/// <summary>What happened to a tag's presence in a zone.</summary>
public enum PresenceKind : byte
{
    /// <summary>First seen in a zone after being absent.</summary>
    Arrive = 1,

    /// <summary>Now in another zone; <see cref="PresenceEvent.FromZone"/> says which it left.</summary>
    Move = 2,

    /// <summary>Not seen for the departure timeout.</summary>
    Depart = 3,
}

/// <summary>
/// A zone-level event the edge's windowing derives from many raw reads: the few events people care
/// about, with the evidence that decided them.
/// </summary>
public readonly record struct PresenceEvent
{
    /// <summary>The tag.</summary>
    public required Epc Epc { get; init; }

    /// <summary>Arrive, move or depart.</summary>
    public required PresenceKind Kind { get; init; }

    /// <summary>The zone arrived in, moved to, or departed from.</summary>
    public required string Zone { get; init; }

    /// <summary>For a move, the zone left; otherwise null.</summary>
    public string? FromZone { get; init; }

    /// <summary>Event time in microseconds since the Unix epoch, UTC (the readers' clock).</summary>
    public required long EventTimeUs { get; init; }

    /// <summary>Reads in the window that decided this event.</summary>
    public int ReadCount { get; init; }

    /// <summary>Peak RSSI in the deciding window, hundredths of a dBm, or <see cref="TagRead.NoRssi"/>.</summary>
    public short PeakRssiCentiDbm { get; init; }

    /// <summary>Mean RSSI in the deciding window, hundredths of a dBm, or <see cref="TagRead.NoRssi"/>.</summary>
    public short MeanRssiCentiDbm { get; init; }
}
