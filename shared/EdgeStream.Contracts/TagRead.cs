namespace EdgeStream.Contracts;

/// <summary>Where a read came from; scanners and manual entries carry an operator.</summary>
public enum SourceKind : byte
{
    /// <summary>An LLRP reader (Impinj, Zebra, …) over TCP.</summary>
    Llrp = 1,

    /// <summary>A serial UHF module (R2000 family, Chafon, …).</summary>
    Serial = 2,

    /// <summary>A line-oriented barcode/EPC scanner on serial or USB.</summary>
    Scanner = 3,

    /// <summary>A handheld app posting scans over HTTP.</summary>
    Handheld = 4,

    /// <summary>Entered by a person in the portal.</summary>
    Manual = 5,
}

/// <summary>
/// One observation of one tag by one antenna: the unit everything upstream is built from.
/// A value type so batches of reads are flat arrays, not object graphs.
/// </summary>
public readonly record struct TagRead
{
    /// <summary>RSSI value meaning "the reader did not report one".</summary>
    public const short NoRssi = short.MinValue;

    /// <summary>The tag.</summary>
    public required Epc Epc { get; init; }

    /// <summary>The reader's configured id (unique within a gateway).</summary>
    public required string ReaderId { get; init; }

    /// <summary>1-based antenna port; 0 when the device has no antennas (scanners).</summary>
    public ushort Antenna { get; init; }

    /// <summary>Peak RSSI in hundredths of a dBm (−48 dBm = −4800), or <see cref="NoRssi"/>.</summary>
    public short RssiCentiDbm { get; init; }

    /// <summary>Event time: when the reader saw the tag, microseconds since the Unix epoch, UTC.</summary>
    public required long EventTimeUs { get; init; }

    /// <summary>What kind of device produced the read.</summary>
    public SourceKind Source { get; init; }

    /// <summary>How many times the reader saw the tag in this report (≥ 1).</summary>
    public ushort SeenCount { get; init; }

    /// <summary>The person who scanned, for handheld and manual sources.</summary>
    public string? OperatorId { get; init; }

    /// <summary>
    /// For a scan (<see cref="SourceKind.Scanner"/>, <see cref="SourceKind.Handheld"/>): the zone the person
    /// scanned the tag in (the handheld's chosen zone, or the scanner's configured one). The cloud takes a
    /// scan with a zone as a manual placement by <see cref="OperatorId"/>; null for radio reads.
    /// </summary>
    public string? Zone { get; init; }

    /// <summary>RSSI in dBm, or null when the reader did not report one.</summary>
    public double? RssiDbm => RssiCentiDbm == NoRssi ? null : RssiCentiDbm / 100.0;

    /// <summary>Event time as a <see cref="DateTimeOffset"/> (microsecond precision).</summary>
    public DateTimeOffset EventTime => EventTimes.FromUnixMicroseconds(EventTimeUs);
}
