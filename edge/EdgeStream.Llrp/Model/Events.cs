namespace EdgeStream.Llrp.Model;

/// <summary>READER_EVENT_NOTIFICATION: one timestamp and the events that happened.</summary>
public sealed record ReaderEventNotificationData
{
    /// <summary>Microseconds since the Unix epoch, when the reader has a UTC clock.</summary>
    public ulong? UtcTimestamp { get; init; }

    /// <summary>Microseconds since the reader booted, when it has no UTC clock.</summary>
    public ulong? Uptime { get; init; }

#pragma warning disable CS1591 // Names are the spec's.
    public HoppingEvent? HoppingEvent { get; init; }
    public GpiEvent? GpiEvent { get; init; }
    public ROSpecEvent? ROSpecEvent { get; init; }
    public ReportBufferLevelWarningEvent? ReportBufferLevelWarningEvent { get; init; }
    public ReportBufferOverflowErrorEvent? ReportBufferOverflowErrorEvent { get; init; }
    public ReaderExceptionEvent? ReaderExceptionEvent { get; init; }
    public RfSurveyEvent? RfSurveyEvent { get; init; }
    public AISpecEvent? AISpecEvent { get; init; }
    public AntennaEvent? AntennaEvent { get; init; }
    public ConnectionAttemptEvent? ConnectionAttemptEvent { get; init; }
    public ConnectionCloseEvent? ConnectionCloseEvent { get; init; }
#pragma warning restore CS1591

    /// <summary>Vendor events, kept raw.</summary>
    public IReadOnlyList<CustomParameter> Custom { get; init; } = [];
}

#pragma warning disable CS1591 // Names are the spec's.
public sealed record HoppingEvent(ushort HopTableId, ushort NextChannelIndex);

public sealed record GpiEvent(ushort GpiPortNumber, bool GpiEventState);

/// <summary>EventType: 0 start of ROSpec, 1 end of ROSpec, 2 preemption.</summary>
public sealed record ROSpecEvent(byte EventType, uint ROSpecId, uint PreemptingROSpecId);

public sealed record ReportBufferLevelWarningEvent(byte ReportBufferPercentageFull);

public sealed record ReportBufferOverflowErrorEvent;

public sealed record ReaderExceptionEvent(string Message);

public sealed record RfSurveyEvent(byte EventType, uint ROSpecId, ushort SpecIndex);

public sealed record AISpecEvent(byte EventType, uint ROSpecId, ushort SpecIndex);

/// <summary>EventType: 0 antenna disconnected, 1 antenna connected.</summary>
public sealed record AntennaEvent(byte EventType, ushort AntennaId);

/// <summary>The reader's answer to a new connection; any status but success means the reader refused it.</summary>
public sealed record ConnectionAttemptEvent(ConnectionAttemptStatus Status);

public sealed record ConnectionCloseEvent;
#pragma warning restore CS1591

/// <summary>ConnectionAttemptEvent status values.</summary>
public enum ConnectionAttemptStatus : ushort
{
    /// <summary>The connection is accepted.</summary>
    Success = 0,

    /// <summary>The reader already holds a connection it initiated.</summary>
    FailedReaderInitiatedConnectionExists = 1,

    /// <summary>Another client is connected: the reader is busy.</summary>
    FailedClientInitiatedConnectionExists = 2,

    /// <summary>Refused for another reason.</summary>
    FailedOther = 3,

    /// <summary>Sent to the existing client when another one tried to connect.</summary>
    AnotherConnectionAttempted = 4,
}
