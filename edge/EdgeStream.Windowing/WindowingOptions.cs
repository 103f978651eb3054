namespace EdgeStream.Windowing;

/// <summary>What a zone is for, so the cloud's rules can treat exits, rooms and corridors differently.</summary>
public enum ZoneKind
{
    /// <summary>A place assets stay in: a ward, a store room, a bay.</summary>
    Room = 0,

    /// <summary>A way out of the site or building: leaving through it may raise an alert.</summary>
    Exit = 1,

    /// <summary>A way in.</summary>
    Entrance = 2,

    /// <summary>A place assets pass through.</summary>
    Corridor = 3,

    /// <summary>A loading dock or dock door.</summary>
    Dock = 4,

    /// <summary>A shelf or storage position.</summary>
    Storage = 5,

    /// <summary>Anything else.</summary>
    Other = 6,
}

/// <summary>What the Reads class of the uplink carries besides the zone events.</summary>
public enum ReadsOutputMode
{
    /// <summary>Deduplicated observations: one per tag, antenna and dedupe interval (the default).</summary>
    Summaries = 0,

    /// <summary>Every raw read, unchanged apart from a configured reader clock offset.</summary>
    All = 1,

    /// <summary>One raw read in every <see cref="ReadsOutputOptions.SampleEvery"/>.</summary>
    Sampled = 2,

    /// <summary>No reads: only zone events leave the gateway.</summary>
    None = 3,
}

/// <summary>
/// Windowing configuration of one gateway: which antennas form which zones, how a tag's zone is
/// decided, and how reads are deduplicated, reordered and summarised. Immutable; bound from the
/// <c>Windowing</c> configuration section (see <c>docs/windowing.md</c>) and checked by
/// <see cref="Validate"/> before a <see cref="WindowingProcessor"/> uses it. The defaults are written here
/// and nowhere else.
/// </summary>
public sealed partial record WindowingOptions
{
    /// <summary>The conventional configuration section name.</summary>
    public const string SectionName = "Windowing";

    /// <summary>Zones and the antennas that make them up. An antenna in no zone still feeds the Reads class.</summary>
    public IReadOnlyList<ZoneOptions> Zones { get; init; } = [];

    /// <summary>Per-reader settings (clock offset). Readers not listed use offset 0.</summary>
    public IReadOnlyList<ReaderClockOptions> Readers { get; init; } = [];

    /// <summary>Zone arbitration defaults; each zone may override them.</summary>
    public ArbitrationOptions Arbitration { get; init; } = new();

    /// <summary>Reads of one tag by one antenna within this interval collapse into one observation.</summary>
    public int DedupeIntervalMs { get; init; } = 1000;

    /// <summary>
    /// How far out of event-time order reads may arrive (across readers whose clocks and links differ)
    /// and still be windowed exactly; later reads are counted as late and only forwarded as reads.
    /// Presence events are delayed by this much.
    /// </summary>
    public int ReorderToleranceMs { get; init; } = 500;

    /// <summary>A tag not seen by any zone antenna for this long departs (zones may override).</summary>
    public int DepartureTimeoutMs { get; init; } = 5000;

    /// <summary>What goes to the Reads class.</summary>
    public ReadsOutputOptions Reads { get; init; } = new();

    /// <summary>
    /// Most tags tracked at once (about 1.4 KB each); reads of further tags are counted and not arbitrated.
    /// A tag is tracked from its first read until it departs, or for the departure timeout if it never arrives.
    /// </summary>
    public int MaxTrackedTags { get; init; } = 10_000;

    /// <summary>
    /// Most reads held in the reorder buffer (about 80 bytes each; the buffer holds the last
    /// <see cref="ReorderToleranceMs"/> of reads); beyond it the oldest is processed early (counted).
    /// </summary>
    public int MaxBufferedReads { get; init; } = 65_536;

    /// <summary>Most observations open at once (about 80 bytes each); beyond it the oldest is closed early (counted).</summary>
    public int MaxOpenObservations { get; init; } = 50_000;
}

/// <summary>One zone: a named place made of one or more antennas, possibly of several readers.</summary>
public sealed record ZoneOptions
{
    /// <summary>Zone name as it appears in presence events (unique within the gateway).</summary>
    public string Name { get; init; } = "";

    /// <summary>What kind of place it is.</summary>
    public ZoneKind Kind { get; init; } = ZoneKind.Room;

    /// <summary>The antennas that see this zone.</summary>
    public IReadOnlyList<AntennaOptions> Antennas { get; init; } = [];

    /// <summary>Arbitration settings for this zone; unset values fall back to <see cref="WindowingOptions.Arbitration"/>.</summary>
    public ArbitrationOverrides? Arbitration { get; init; }

    /// <summary>Departure timeout for tags in this zone (e.g. shorter at an exit); unset uses the gateway's.</summary>
    public int? DepartureTimeoutMs { get; init; }
}

/// <summary>One antenna port of one reader.</summary>
public sealed record AntennaOptions
{
    /// <summary>The reader's configured id.</summary>
    public string Reader { get; init; } = "";

    /// <summary>1-based antenna port.</summary>
    public int Antenna { get; init; }
}

/// <summary>A reader's clock correction.</summary>
public sealed record ReaderClockOptions
{
    /// <summary>The reader's configured id.</summary>
    public string Id { get; init; } = "";

    /// <summary>Added to the reader's timestamps: positive when the reader's clock is behind.</summary>
    public int ClockOffsetMs { get; init; }
}

/// <summary>
/// How a tag's zone is decided when antennas of several zones see it: over a sliding window of
/// <see cref="WindowMs"/>, a zone qualifies with at least <see cref="MinReads"/> reads and a mean RSSI of at
/// least <see cref="MinMeanRssiDbm"/>; the best qualified zone takes the tag from its current zone only if its
/// mean RSSI beats the current zone's by <see cref="MoveMarginDb"/> and the tag has been in its current zone for
/// <see cref="HoldOffMs"/>.
/// </summary>
public sealed record ArbitrationOptions
{
    /// <summary>Length of the sliding RSSI window (one for the gateway; measured in eighths).</summary>
    public int WindowMs { get; init; } = 1000;

    /// <summary>Reads a zone needs in the window to qualify.</summary>
    public int MinReads { get; init; } = 3;

    /// <summary>Mean RSSI a zone needs in the window to qualify, dBm.</summary>
    public double MinMeanRssiDbm { get; init; } = -80;

    /// <summary>How much stronger (dB, mean over the window) another zone must be to take a tag out of this one.</summary>
    public double MoveMarginDb { get; init; } = 6;

    /// <summary>How long a tag stays in this zone before it may move out of it.</summary>
    public int HoldOffMs { get; init; } = 500;
}

/// <summary>Per-zone overrides of <see cref="ArbitrationOptions"/>; null means "use the gateway's".</summary>
public sealed record ArbitrationOverrides
{
    /// <inheritdoc cref="ArbitrationOptions.MinReads"/>
    public int? MinReads { get; init; }

    /// <inheritdoc cref="ArbitrationOptions.MinMeanRssiDbm"/>
    public double? MinMeanRssiDbm { get; init; }

    /// <inheritdoc cref="ArbitrationOptions.MoveMarginDb"/>
    public double? MoveMarginDb { get; init; }

    /// <inheritdoc cref="ArbitrationOptions.HoldOffMs"/>
    public int? HoldOffMs { get; init; }
}

/// <summary>What the Reads class carries.</summary>
public sealed record ReadsOutputOptions
{
    /// <summary>Summaries (default), all, sampled or none.</summary>
    public ReadsOutputMode Mode { get; init; } = ReadsOutputMode.Summaries;

    /// <summary>For <see cref="ReadsOutputMode.Sampled"/>: forward one read in this many.</summary>
    public int SampleEvery { get; init; } = 10;
}
