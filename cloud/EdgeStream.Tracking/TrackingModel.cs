using EdgeStream.Contracts;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;

namespace EdgeStream.Tracking;

/// <summary>What a log record says about a tag, as the tracking job sees it.</summary>
public enum TrackingEventKind : byte
{
    /// <summary>A raw read: the tag was seen (refreshes last-seen only).</summary>
    Read = 0,

    /// <summary>The edge placed the tag in a zone after it was absent.</summary>
    Arrive = 1,

    /// <summary>The edge placed the tag in another zone.</summary>
    Move = 2,

    /// <summary>The edge no longer sees the tag in a zone.</summary>
    Depart = 3,

    /// <summary>A person's event (<see cref="TrackingEvent.Manual"/>): a scan, an override, a correction, an action.</summary>
    Manual = 4,

    /// <summary>A gateway's watermark mark: it moves the gateway's event time and does nothing else.</summary>
    Mark = 5,
}

/// <summary>What a manual event says besides its zone (<see cref="TrackingEvent.Zone"/>).</summary>
public sealed record ManualDetail(ManualKind Kind, string By, string ClientId, string? Action, string? Reason, long UntilUs)
{
    /// <summary>A gateway's scan (handheld or barcode scanner) rather than an event kept by the cloud: the store keeps it as a manual event when it places the tag.</summary>
    public bool Scan { get; init; }
}

/// <summary>
/// One decoded log record: the tag, what happened, where (zone and gateway as <see cref="NameTable"/>
/// numbers), when (event time, already corrected for the gateway's clock skew by ingest when it
/// measured one), and the record's identity at its source (gateway, batch sequence, index).
/// </summary>
public readonly record struct TrackingEvent
{
    /// <summary>The tag.</summary>
    public required Epc Epc { get; init; }

    /// <summary>What happened.</summary>
    public required TrackingEventKind Kind { get; init; }

    /// <summary>Event time, µs since the Unix epoch (UTC).</summary>
    public required long TimeUs { get; init; }

    /// <summary>The gateway's name number.</summary>
    public required int Gateway { get; init; }

    /// <summary>A stable hash of the gateway's name: the event's source, the same in every process.</summary>
    public required ulong GatewayHash { get; init; }

    /// <summary>The zone arrived in, moved to or departed from (name number); <see cref="NameTable.None"/> for reads.</summary>
    public int Zone { get; init; }

    /// <summary>The gateway's batch sequence number.</summary>
    public ulong Sequence { get; init; }

    /// <summary>The record's index in its batch.</summary>
    public int Index { get; init; }

    /// <summary>For <see cref="TrackingEventKind.Manual"/>, what the person said.</summary>
    public ManualDetail? Manual { get; init; }
}

/// <summary>What the job knows of one tag.</summary>
public struct TagState
{
    /// <summary>The zone the tag is in now (name number), or <see cref="NameTable.None"/> when departed or never placed.</summary>
    public int Zone;

    /// <summary>Event time since which the tag is in <see cref="Zone"/> (or departed).</summary>
    public long SinceUs;

    /// <summary>The gateway whose event placed the tag (name number).</summary>
    public int Gateway;

    /// <summary>Newest event time at which the tag was seen at all.</summary>
    public long LastSeenUs;

    /// <summary>Event time of the last sighting output, which refreshes last-seen in the store.</summary>
    public long LastSightingUs;

    /// <summary>Whether any presence event has placed the tag yet.</summary>
    public bool Placed;

    /// <summary>The workflow the tag's asset runs (null: none), and its version.</summary>
    public string? WorkflowId;

    /// <summary>The version of <see cref="WorkflowId"/> the run follows.</summary>
    public int WorkflowVersion;

    /// <summary>The run: state, since when, pending absence, fired alerts.</summary>
    public WorkflowRun Workflow;

    /// <summary>While an override holds, when it ends (µs; <see cref="long.MaxValue"/>: at a confident read only); 0 when none holds.</summary>
    public long OverrideUntilUs;

    /// <summary>While an override holds, the zone the reads say the tag is in (<see cref="NameTable.None"/>: none).</summary>
    public int ReadZone;

    /// <summary>While an override holds, the sequence of the manual event that set it.</summary>
    public ulong OverrideSequence;

    /// <summary>The runs of rules that wait for something or hold an open alert for the tag (null: none).</summary>
    public RuleRun[]? Rules;
}

/// <summary>What the tracking job emits.</summary>
public enum TrackingOutputKind : byte
{
    /// <summary>The tag is in <see cref="TrackingOutput.Zone"/> (or departed from <see cref="TrackingOutput.Left"/>) from <see cref="TrackingOutput.TimeUs"/> on.</summary>
    Placement = 1,

    /// <summary>The tag was seen at <see cref="TrackingOutput.TimeUs"/> (last-seen refresh; no zone change).</summary>
    Sighting = 2,

    /// <summary>The tag's workflow run changed state, or raised or cleared an alert (<see cref="TrackingOutput.Step"/>).</summary>
    Workflow = 3,

    /// <summary>A gateway's scan (<see cref="TrackingOutput.Scan"/>), which the store keeps as a manual event; the placement it makes, if any, follows.</summary>
    Scan = 4,
}

/// <summary>What a workflow run did, with the workflow and version that did it.</summary>
public sealed record WorkflowStep(string WorkflowId, int Version, WorkflowOutput What)
{
    /// <summary>The step is a rule's (<see cref="WorkflowId"/> is then the rule's id): its alerts' rule id is <c>rule:{id}</c>.</summary>
    public bool Rule { get; init; }
}

/// <summary>
/// One output of the tracking job. A placement with <see cref="Late"/> set is older than what the job
/// already placed for the tag: the store splices it into history where it belongs, and it moves the
/// current location only if it is the newest the store has.
/// </summary>
public readonly record struct TrackingOutput
{
    /// <summary>Placement or sighting.</summary>
    public required TrackingOutputKind Kind { get; init; }

    /// <summary>Event time of the placement or sighting.</summary>
    public required long TimeUs { get; init; }

    /// <summary>The zone placed in (name number); <see cref="NameTable.None"/> for a departure.</summary>
    public int Zone { get; init; }

    /// <summary>For a departure, the zone left; otherwise <see cref="NameTable.None"/>.</summary>
    public int Left { get; init; }

    /// <summary>For a placement that is not late, the zone the tag was in before (<see cref="NameTable.None"/>: none); the zone stage counts with it.</summary>
    public int Previous { get; init; }

    /// <summary>The gateway of the deciding event (name number).</summary>
    public required int Gateway { get; init; }

    /// <summary>The deciding event's batch sequence at its gateway.</summary>
    public ulong Sequence { get; init; }

    /// <summary>The deciding event's index in its batch.</summary>
    public int Index { get; init; }

    /// <summary>Processed out of event-time order (late within the allowed lateness, or older than the tag's current placement).</summary>
    public bool Late { get; init; }

    /// <summary>For <see cref="TrackingOutputKind.Workflow"/>, what the run did.</summary>
    public WorkflowStep? Step { get; init; }

    /// <summary>For <see cref="TrackingOutputKind.Scan"/>, the scan: who made it, and why.</summary>
    public ManualDetail? Scan { get; init; }
}
