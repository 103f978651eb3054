namespace EdgeStream.Contracts;

/// <summary>
/// Repeated reads of one tag by one antenna within the dedupe interval, collapsed into one record:
/// what the edge uploads in the Reads class instead of every raw read when it is configured to
/// summarise. It keeps the evidence (count, first and last seen, peak and mean RSSI) so the cloud can
/// still reason about signal strength and dwell without the raw volume.
/// </summary>
/// <remarks>Not yet carried by the v1 wire format (<c>BatchCodec</c>); a later format version adds it.</remarks>
public readonly record struct TagObservation
{
    /// <summary>The tag.</summary>
    public required Epc Epc { get; init; }

    /// <summary>The reader that saw the tag.</summary>
    public required string ReaderId { get; init; }

    /// <summary>What kind of device produced the reads.</summary>
    public SourceKind Source { get; init; }

    /// <summary>1-based antenna port; 0 when the device has no antennas.</summary>
    public ushort Antenna { get; init; }

    /// <summary>The zone the antenna belongs to, or null when it belongs to none.</summary>
    public string? Zone { get; init; }

    /// <summary>Event time of the first read collapsed into this observation (µs since the Unix epoch, UTC).</summary>
    public required long FirstSeenUs { get; init; }

    /// <summary>Event time of the last read collapsed into this observation (µs since the Unix epoch, UTC).</summary>
    public required long LastSeenUs { get; init; }

    /// <summary>Number of read reports collapsed into this observation (≥ 1).</summary>
    public int ReadCount { get; init; }

    /// <summary>Sum of the reports' <see cref="TagRead.SeenCount"/>: how often the reader actually saw the tag.</summary>
    public int SeenCount { get; init; }

    /// <summary>Peak RSSI over the collapsed reads, hundredths of a dBm, or <see cref="TagRead.NoRssi"/>.</summary>
    public short PeakRssiCentiDbm { get; init; }

    /// <summary>Mean RSSI over the collapsed reads that reported one, hundredths of a dBm, or <see cref="TagRead.NoRssi"/>.</summary>
    public short MeanRssiCentiDbm { get; init; }

    /// <summary>
    /// The observation as one read, the way an LLRP reader summarises a tag itself (first-seen time, peak
    /// RSSI, seen count): what the v1 wire format can carry in the Reads class. Last-seen time and mean
    /// RSSI are not carried.
    /// </summary>
    public TagRead ToTagRead() => new()
    {
        Epc = Epc,
        ReaderId = ReaderId,
        Antenna = Antenna,
        RssiCentiDbm = PeakRssiCentiDbm,
        EventTimeUs = FirstSeenUs,
        Source = Source,
        SeenCount = (ushort)Math.Clamp(SeenCount, 1, ushort.MaxValue),
    };
}
