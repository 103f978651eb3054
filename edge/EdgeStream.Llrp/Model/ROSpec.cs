namespace EdgeStream.Llrp.Model;

/// <summary>When a ROSpec starts (ROSpecStartTrigger type).</summary>
public enum ROSpecStartTriggerType : byte
{
    /// <summary>Only when the client sends START_ROSPEC.</summary>
    Null = 0,

    /// <summary>As soon as it is enabled.</summary>
    Immediate = 1,

    /// <summary>Every period (milliseconds), after an offset.</summary>
    Periodic = 2,

    /// <summary>On a GPI event.</summary>
    Gpi = 3,
}

/// <summary>When a ROSpec stops (ROSpecStopTrigger type).</summary>
public enum ROSpecStopTriggerType : byte
{
    /// <summary>Only when the client stops it (or its specs complete).</summary>
    Null = 0,

    /// <summary>After a duration in milliseconds.</summary>
    Duration = 1,

    /// <summary>On a GPI event, with a timeout.</summary>
    GpiWithTimeout = 2,
}

/// <summary>When reports are sent (ROReportTrigger).</summary>
public enum ROReportTriggerType : byte
{
    /// <summary>Only when the client asks (GET_REPORT).</summary>
    None = 0,

    /// <summary>Every N tag reports, and at the end of each AISpec.</summary>
    UponNTagsOrEndOfAISpec = 1,

    /// <summary>Every N tag reports, and at the end of the ROSpec.</summary>
    UponNTagsOrEndOfROSpec = 2,
}

/// <summary>
/// A reader operation spec as the product uses it: one AISpec inventorying Gen2 tags on a set of
/// antennas, with per-antenna RF settings and a report spec. Built by the client, decoded by the emulator.
/// </summary>
public sealed record ROSpec
{
    /// <summary>The spec's id (non-zero).</summary>
    public required uint ROSpecId { get; init; }

    /// <summary>Priority 0 (highest) to 7.</summary>
    public byte Priority { get; init; }

    /// <summary>Disabled (0), inactive (1) or active (2); a new spec must be disabled.</summary>
    public byte CurrentState { get; init; }

    /// <summary>The start trigger.</summary>
    public ROSpecStartTriggerType StartTrigger { get; init; }

    /// <summary>For a periodic start trigger: offset before the first start, in milliseconds.</summary>
    public uint PeriodicOffsetMs { get; init; }

    /// <summary>For a periodic start trigger: the period in milliseconds.</summary>
    public uint PeriodMs { get; init; }

    /// <summary>The stop trigger.</summary>
    public ROSpecStopTriggerType StopTrigger { get; init; }

    /// <summary>For a duration stop trigger: milliseconds.</summary>
    public uint StopDurationMs { get; init; }

    /// <summary>Antennas to inventory; a single 0 means all.</summary>
    public IReadOnlyList<ushort> AntennaIds { get; init; } = [0];

    /// <summary>AISpec stop trigger type (0 = null: runs until the ROSpec stops).</summary>
    public byte AISpecStopTrigger { get; init; }

    /// <summary>AISpec stop duration in milliseconds, for a duration trigger.</summary>
    public uint AISpecStopDurationMs { get; init; }

    /// <summary>The inventory parameter spec id.</summary>
    public ushort InventoryParameterSpecId { get; init; } = 1;

    /// <summary>Per-antenna RF and Gen2 settings.</summary>
    public IReadOnlyList<AntennaConfiguration> AntennaConfigurations { get; init; } = [];

    /// <summary>The report spec; null to use the reader's default (set by SET_READER_CONFIG).</summary>
    public ROReportSpec? ROReportSpec { get; init; }
}

/// <summary>SET_READER_CONFIG as the product sends it.</summary>
public sealed record SetReaderConfig
{
    /// <summary>Reset everything to factory defaults before applying the rest.</summary>
    public bool ResetToFactoryDefaults { get; init; }

    /// <summary>Which reader events to report.</summary>
    public ReaderEventNotificationSpec? ReaderEventNotificationSpec { get; init; }

    /// <summary>Per-antenna settings.</summary>
    public IReadOnlyList<AntennaConfiguration> AntennaConfigurations { get; init; } = [];

    /// <summary>The default report spec.</summary>
    public ROReportSpec? ROReportSpec { get; init; }

    /// <summary>Keepalive trigger and interval.</summary>
    public KeepaliveSpec? KeepaliveSpec { get; init; }

    /// <summary>Hold events and reports across reconnects (null: leave unchanged).</summary>
    public bool? EventsAndReports { get; init; }
}
