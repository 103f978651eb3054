namespace EdgeStream.Contracts;

/// <summary>What a person (or a handheld on their behalf) says about a tag.</summary>
public enum ManualKind : byte
{
    /// <summary>A scan placing the tag in <see cref="ManualEvent.Zone"/> (a handheld or barcode scan): a placement like any other.</summary>
    Place = 1,

    /// <summary>The tag is in <see cref="ManualEvent.Zone"/> whatever the reads say, until a confident read says otherwise or <see cref="ManualEvent.UntilUs"/> passes.</summary>
    Override = 2,

    /// <summary>An action for the asset's workflow (<see cref="ManualEvent.Action"/>, such as <c>discharge</c>).</summary>
    Action = 3,

    /// <summary>A read was wrong: the tag is in <see cref="ManualEvent.Zone"/>, or nowhere known when it is null.</summary>
    Correction = 4,

    /// <summary>Ends the tag's override: where the reads say it is counts again.</summary>
    Release = 5,

    /// <summary>
    /// An asset of type <see cref="ManualEvent.Action"/> (named in <see cref="ManualEvent.By"/>) entered
    /// <see cref="ManualEvent.Zone"/>, where this tag was: the zone stage tells the tag's workflow
    /// (<c>peerEnters</c>, a clinician's badge entering the patient's room). Not a person's event, so it
    /// never moves the tag.
    /// </summary>
    Peer = 6,
}

/// <summary>
/// A manual event as it travels in the event log: appended by the cloud for <c>POST /api/events</c> and
/// overrides, replayed, checkpointed and placed by event time like every other record.
/// </summary>
public readonly record struct ManualEvent
{
    /// <summary>The name that stands for people as the source of manual events (not a valid gateway id, so no gateway can take it).</summary>
    public const string Source = "@manual";

    /// <summary>The tag.</summary>
    public required Epc Epc { get; init; }

    /// <summary>What was said.</summary>
    public required ManualKind Kind { get; init; }

    /// <summary>Event time, µs since the Unix epoch (UTC).</summary>
    public required long EventTimeUs { get; init; }

    /// <summary>Who said it.</summary>
    public required string By { get; init; }

    /// <summary>The client's id of the event, which makes submitting it again harmless.</summary>
    public required string ClientId { get; init; }

    /// <summary>The zone, for a placement, an override or a correction.</summary>
    public string? Zone { get; init; }

    /// <summary>The workflow action, for <see cref="ManualKind.Action"/>.</summary>
    public string? Action { get; init; }

    /// <summary>Why.</summary>
    public string? Reason { get; init; }

    /// <summary>For an override, when it ends (µs since the epoch); 0 when only a confident read ends it.</summary>
    public long UntilUs { get; init; }
}
