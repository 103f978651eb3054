namespace EdgeStream.Rules.Definitions;

/// <summary>
/// A rule: a pattern over one asset's zone events, actions and time, which opens an alert of
/// <see cref="Severity"/> when it matches. Definitions are files (<c>Schemas/rule.schema.json</c>) and are
/// versioned like workflows; a version with <see cref="Enabled"/> false removes the rule from its
/// effective time on.
/// </summary>
/// <param name="Id">The rule's name; its alerts' rule id is <c>rule:{Id}</c>.</param>
/// <param name="Version">Grows with each change of the same <see cref="Id"/>.</param>
/// <param name="Enabled">False: the rule is removed (a removal is a version too, so replays see it at the same point).</param>
/// <param name="Severity">How urgent its alerts are.</param>
/// <param name="Message">The alerts' text; null for one made from the pattern.</param>
/// <param name="Assets">Which assets the rule watches.</param>
/// <param name="Calendar">When the rule may fire (null: always).</param>
/// <param name="Pattern">What it watches for (null only when the rule is removed).</param>
/// <param name="Clock">Which clock its deadlines run on.</param>
public sealed record RuleDefinition(
    string Id,
    int Version,
    bool Enabled,
    AlertSeverity Severity,
    string? Message,
    AssetSelector Assets,
    RuleCalendar? Calendar,
    RulePattern? Pattern,
    TimerClock Clock)
{
    /// <summary>The rule id its alerts carry.</summary>
    public string AlertRuleId => "rule:" + Id;
}

/// <summary>Which registered assets a rule watches: of <see cref="Type"/> (null: any type) with every one of <see cref="Attributes"/>.</summary>
public sealed record AssetSelector(string? Type, IReadOnlyDictionary<string, string> Attributes)
{
    private readonly KeyValuePair<string, string>[] _required = [.. Attributes];

    /// <summary>Any registered asset.</summary>
    public static AssetSelector Any { get; } = new(null, new Dictionary<string, string>());

    /// <summary>True when an asset of <paramref name="type"/> with <paramref name="attributes"/> is watched.</summary>
    public bool Matches(string? type, IReadOnlyDictionary<string, string> attributes)
    {
        if (Type is not null && Type != type)
        {
            return false;
        }

        // An array, not the dictionary: this runs for every rule at every event, and must not allocate.
        foreach (var (key, value) in _required)
        {
            if (!attributes.TryGetValue(key, out var v) || v != value)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// When a rule may fire, as local time in <see cref="TimeZone"/> (null: the site's time zone of the zone
/// concerned, UTC when the site has none): on <see cref="Days"/>, between <see cref="From"/> and
/// <see cref="To"/> (a span that passes midnight, 22:00 to 06:00, runs into the next day).
/// </summary>
public sealed record RuleCalendar(string? TimeZone, IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To)
{
    /// <summary>True when local time <paramref name="local"/> is inside the calendar.</summary>
    public bool Contains(DateTime local)
    {
        var time = TimeOnly.FromDateTime(local);
        if (From == To)
        {
            return Days.Contains(local.DayOfWeek);
        }

        if (From < To)
        {
            return Days.Contains(local.DayOfWeek) && time >= From && time < To;
        }

        // Past midnight: the evening belongs to its own day, the small hours to the day before.
        return time >= From ? Days.Contains(local.DayOfWeek) : time < To && Days.Contains(local.AddDays(-1).DayOfWeek);
    }
}

/// <summary>What a rule watches for.</summary>
public abstract record RulePattern;

/// <summary>The asset enters a matching zone. Clears when it leaves that zone.</summary>
public sealed record EntersPattern(ZoneMatch Zone) : RulePattern;

/// <summary>The asset leaves a matching zone. Clears when it is back in one.</summary>
public sealed record LeavesPattern(ZoneMatch Zone) : RulePattern;

/// <summary>The asset stays in a matching zone longer than <see cref="LongerThan"/>. Clears when it leaves.</summary>
public sealed record DwellPattern(ZoneMatch Zone, TimeSpan LongerThan) : RulePattern;

/// <summary>The asset left a matching zone and is not back in one within <see cref="For"/>; fires at the deadline. Clears when it is back.</summary>
public sealed record AbsentPattern(ZoneMatch Zone, TimeSpan For) : RulePattern;

/// <summary>The asset is seen nowhere for <see cref="For"/> (no read, no placement); fires at the deadline. Clears when it is seen again.</summary>
public sealed record MissingPattern(TimeSpan For) : RulePattern;

/// <summary><see cref="First"/> then <see cref="Then"/> within <see cref="Within"/>: fires at <see cref="Then"/>. Resolved by hand.</summary>
public sealed record FollowedByPattern(RuleStep First, RuleStep Then, TimeSpan Within) : RulePattern;

/// <summary><see cref="First"/> and no <see cref="Then"/> within <see cref="Within"/>: fires at the deadline. Clears when <see cref="Then"/> comes after all.</summary>
public sealed record NotFollowedByPattern(RuleStep First, RuleStep Then, TimeSpan Within) : RulePattern;

/// <summary>
/// The asset enters an exit zone (<see cref="Exit"/>) with none of <see cref="AuthorisedBy"/> in the
/// <see cref="Within"/> before: fires at the exit. Clears at the next authorising event.
/// </summary>
public sealed record ExitWithoutPattern(ZoneMatch Exit, IReadOnlyList<RuleStep> AuthorisedBy, TimeSpan Within) : RulePattern;

/// <summary>
/// A pattern over a zone rather than one asset: how many of the rule's assets are in a matching zone
/// now. It runs in the zone stage, keyed by zone, and its alerts are the zone's (one open per rule and zone).
/// </summary>
public abstract record ZoneWidePattern(ZoneMatch Zone) : RulePattern;

/// <summary>More of the rule's assets are in a matching zone than the zone's capacity (as the registry gives it; a zone without one is never over). Clears at or below it.</summary>
public sealed record OccupancyPattern(ZoneMatch Zone) : ZoneWidePattern(Zone);

/// <summary>More than <see cref="Above"/> of the rule's assets (its type and attributes) are in a matching zone. Clears at or below it.</summary>
public sealed record CountPattern(ZoneMatch Zone, int Above) : ZoneWidePattern(Zone);

/// <summary>One event a pattern names: entering or leaving a matching zone, or a person's action (<c>checkout</c>).</summary>
public sealed record RuleStep(RuleStepKind Kind, ZoneMatch? Zone, string? Action)
{
    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        RuleStepKind.Enter => $"entering {Zone}",
        RuleStepKind.Leave => $"leaving {Zone}",
        _ => $"action {Action}",
    };
}

/// <summary>What a <see cref="RuleStep"/> is.</summary>
public enum RuleStepKind
{
    /// <summary>Entering a matching zone.</summary>
    Enter,

    /// <summary>Leaving a matching zone.</summary>
    Leave,

    /// <summary>A person's action.</summary>
    Action,
}
