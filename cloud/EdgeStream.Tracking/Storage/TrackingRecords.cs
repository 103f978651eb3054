namespace EdgeStream.Tracking.Storage;

/// <summary>A page of a list and the opaque cursor of the next page (null at the end).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>
/// A placement as the store applies it: tag <see cref="Epc"/> is in <see cref="Zone"/> (null: departed
/// from <see cref="LeftZone"/>) from <see cref="TimeUs"/> on, decided by event <see cref="EventId"/> of
/// <see cref="GatewayId"/>. Applying the same placement twice changes nothing.
/// </summary>
public sealed record PlacementRecord(string Epc, string? Zone, string? LeftZone, long TimeUs, string GatewayId, string EventId, bool Late, string OutputId)
{
    /// <summary>The id of the log record that decided a placement (<c>gateway/sequence/index</c>), which history keeps and joins on.</summary>
    public static string EventIdOf(string gateway, ulong sequence, int index) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{gateway}/{sequence}/{index}");
}

/// <summary>Tag <see cref="Epc"/> was seen at <see cref="TimeUs"/> through <see cref="GatewayId"/>.</summary>
public sealed record SightingRecord(string Epc, long TimeUs, string GatewayId);

/// <summary>
/// An event later than the allowed lateness, kept as it came (never dropped). Identified by its log
/// position, so storing it twice keeps one row.
/// </summary>
public sealed record LateRecord(int Partition, long Offset, string Epc, string GatewayId, string Kind, string? Zone, long EventTimeUs, long WatermarkUs, string Detail, string EventId);

/// <summary>What one flush of the tracking job's outputs writes, in one transaction.</summary>
public sealed record TrackingBatch(IReadOnlyList<PlacementRecord> Placements, IReadOnlyList<SightingRecord> Sightings, IReadOnlyList<LateRecord> Late)
{
    /// <summary>A batch with nothing in it.</summary>
    public static TrackingBatch Empty { get; } = new([], [], []);

    /// <summary>Workflow steps (state changes, alerts raised and cleared), in the job's order.</summary>
    public IReadOnlyList<WorkflowRecord> Workflow { get; init; } = [];

    /// <summary>Gateways' scans, kept as manual events (once each, by <see cref="ScanRecord.EventId"/>).</summary>
    public IReadOnlyList<ScanRecord> Scans { get; init; } = [];

    /// <summary>Rows in the batch.</summary>
    public int Count => Placements.Count + Sightings.Count + Late.Count + Workflow.Count + Scans.Count;
}

/// <summary>
/// A person's scan at a gateway (a handheld or a barcode scanner) that placed a tag in <paramref name="Zone"/>:
/// kept as a manual event (already in the log) under <paramref name="ClientId"/> (<c>scan:{EventId}</c>), so
/// that history marks the placement with who made it and the manual event list shows it.
/// </summary>
public sealed record ScanRecord(string Epc, string Zone, string By, string? Reason, long TimeUs, string GatewayId, string EventId, string ClientId);

/// <summary>What a workflow step is.</summary>
public enum WorkflowRecordKind
{
    /// <summary>The tag's asset entered <see cref="WorkflowRecord.State"/>.</summary>
    StateChanged,

    /// <summary>An alert of the state opened (one open alert per rule and asset).</summary>
    AlertRaised,

    /// <summary>The alert's condition cleared: it resolves by itself.</summary>
    AlertCleared,
}

/// <summary>
/// A workflow step as the store applies it, identified by the job's deterministic <see cref="OutputId"/>
/// so that applying it again (a replay after a crash) changes nothing.
/// </summary>
/// <param name="Epc">The tag whose run it is.</param>
/// <param name="WorkflowId">The workflow.</param>
/// <param name="Version">Its version.</param>
/// <param name="Kind">State change, alert raised or cleared.</param>
/// <param name="AtUs">Event time (or, for a processing-time deadline, the deadline).</param>
/// <param name="State">The state entered, or the alert's state (for a rule's alert, the zone concerned, or null).</param>
/// <param name="FromState">For a state change, the state left (null when the run started).</param>
/// <param name="Cause">Why (the trigger), for a state change.</param>
/// <param name="AlertId">For an alert, its id in the state (the rule is <c>workflow:{WorkflowId}/{AlertId}</c>).</param>
/// <param name="Severity">For a raised alert: info, warning, critical.</param>
/// <param name="Message">For a raised alert, its text.</param>
/// <param name="OutputId">The job's output id.</param>
public sealed record WorkflowRecord(string Epc, string WorkflowId, int Version, WorkflowRecordKind Kind, long AtUs, string? State, string? FromState, string? Cause, string? AlertId, string? Severity, string? Message, string OutputId)
{
    /// <summary>A rule's alert (<see cref="WorkflowId"/> and <see cref="AlertId"/> are then the rule's id), not a workflow state's.</summary>
    public bool Rule { get; init; }

    /// <summary>
    /// For a zone-wide rule's alert, what it is about in place of a tag's asset (<c>zone:{name}</c>): the
    /// alert's asset id, with no EPC. Null for a tag's steps.
    /// </summary>
    public string? Subject { get; init; }

    /// <summary>The alert's rule id, as alerts are listed and kept one open per rule and asset.</summary>
    public string RuleId => Rule ? "rule:" + WorkflowId : $"workflow:{WorkflowId}/{AlertId}";

    /// <summary>Who opens and clears the alert in its steps: <c>rule</c> or <c>workflow</c>.</summary>
    public string Actor => Rule ? "rule" : "workflow";
}

/// <summary>A site: a building or campus that holds zones and gateways.</summary>
public sealed record Site(string Id, string Name, string? Parent = null, string? TimeZone = null, IReadOnlyDictionary<string, string>? Attributes = null);

/// <summary>A zone of a site, named as the edge configuration names it.</summary>
public sealed record Zone(long Id, string SiteId, string Name, string Kind, long? ParentId, int? Capacity, IReadOnlyDictionary<string, string> Attributes, bool AutoCreated);

/// <summary>What a client sends to create or change a zone.</summary>
public sealed record ZoneInput(string SiteId, string Name, string? Kind = null, long? ParentId = null, int? Capacity = null, IReadOnlyDictionary<string, string>? Attributes = null);

/// <summary>A zone with how many assets are in it now.</summary>
public sealed record ZoneCount(Zone Zone, long Assets);

/// <summary>
/// An asset: something with one or more tags, a name, a type, an owner and a home zone. An EPC that
/// nobody registered is an unregistered asset whose id is the EPC.
/// </summary>
public sealed record Asset(
    string Id,
    string? Name,
    string? Type,
    string? Owner,
    string? HomeZone,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyList<string> Tags,
    bool Registered,
    AssetLocation Location)
{
    /// <summary>The workflow state the asset is in, or null when it runs none.</summary>
    public AssetWorkflow? Workflow { get; init; }
}

/// <summary>An asset's workflow state: which workflow, which state, and since when.</summary>
public sealed record AssetWorkflow(string WorkflowId, string State, long SinceUs);

/// <summary>Where an asset is now (every field null when it was never seen).</summary>
public sealed record AssetLocation(string? Epc, string? Zone, long? ZoneId, string? SiteId, long? SinceUs, long? LastSeenUs, string? GatewayId);

/// <summary>What a client sends to create or change an asset; <see cref="Tags"/> replaces the asset's tags.</summary>
public sealed record AssetInput(
    string? Id,
    string? Name,
    string? Type,
    string? Owner,
    string? HomeZone,
    IReadOnlyDictionary<string, string>? Attributes,
    IReadOnlyList<string> Tags);

/// <summary>Filters of the asset list; null means any.</summary>
public sealed record AssetFilter(long? ZoneId = null, string? SiteId = null, string? Type = null, string? Query = null, bool? Unregistered = null, string? State = null);

/// <summary>One interval of an asset's location history.</summary>
public sealed record HistoryInterval(string AssetId, string Epc, string? Zone, long? ZoneId, long FromUs, long? ToUs, string? GatewayId, string? OpenEvent, string? CloseEvent, bool Late)
{
    /// <summary>When a person's event opened the interval: what kind, who, why.</summary>
    public ManualMark? Manual { get; init; }
}

/// <summary>A person's mark on history: the manual event's kind (override, place, correction), who made it, and why.</summary>
public sealed record ManualMark(string Kind, string By, string? Reason);

/// <summary>How many assets were in a zone from <see cref="FromUs"/> on (a step of the occupancy curve).</summary>
public sealed record OccupancyStep(long FromUs, long Assets);

/// <summary>An entry of the change feed: asset <see cref="AssetId"/> changed location.</summary>
public sealed record ChangeRecord(long Sequence, string AssetId, string Epc, string? Zone, long? ZoneId, long AtUs);

/// <summary>The result of a bulk import: rows taken, and each refused row with its line number and reason.</summary>
public sealed record ImportResult(int Accepted, IReadOnlyList<ImportError> Rejected);

/// <summary>A refused import row.</summary>
public sealed record ImportError(int Line, string Reason);

/// <summary>A registry change refused with a reason people can act on (a tag held by another asset, an unknown zone).</summary>
public sealed class RegistryException(string message) : Exception(message)
{
    /// <summary>Creates the exception with a default message.</summary>
    public RegistryException()
        : this("The registry refused the change.")
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public RegistryException(string message, Exception inner)
        : this(message + " " + inner.Message)
    {
    }
}
