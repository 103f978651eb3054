using System.Globalization;
using System.Text;
using System.Text.Json;
using static EdgeStream.Rules.Definitions.Fields;

namespace EdgeStream.Rules.Definitions;

/// <summary>
/// Reads a rule definition (JSON, <c>Schemas/rule.schema.json</c>) and validates it whole: every problem
/// is reported, each with its line and field, and nothing half-valid is returned.
/// </summary>
public static class RuleReader
{
    private static readonly string[] TopLevel = ["$schema", "id", "version", "enabled", "severity", "message", "assets", "calendar", "clock", "pattern", "description"];
    private static readonly string[] Patterns = ["enters", "leaves", "dwell", "absent", "missing", "followedBy", "notFollowedBy", "exitWithout", "occupancy", "count"];
    private static readonly string[] Steps = ["enter", "leave", "action"];
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// <summary>Reads <paramref name="json"/>.</summary>
    /// <exception cref="DefinitionException">The definition is not valid; every problem is listed.</exception>
    public static RuleDefinition Read(string json) => Read(Encoding.UTF8.GetBytes(json));

    /// <summary>Reads UTF-8 <paramref name="utf8"/>.</summary>
    /// <exception cref="DefinitionException">The definition is not valid; every problem is listed.</exception>
    public static RuleDefinition Read(ReadOnlySpan<byte> utf8)
    {
        var errors = new List<DefinitionError>();
        var root = PositionedJson.Parse(utf8, errors);
        var rule = errors.Count == 0 ? Build(root, errors) : null;
        if (errors.Count > 0 || rule is null)
        {
            throw new DefinitionException([.. errors.OrderBy(e => e.Line)]);
        }

        return rule;
    }

    /// <summary>The definition of a removal: version <paramref name="version"/> of <paramref name="id"/>, disabled.</summary>
    public static string Removal(string id, int version) =>
        JsonSerializer.Serialize(new { id, version, enabled = false });

    private static RuleDefinition? Build(PositionedJson root, List<DefinitionError> errors)
    {
        if (!Expect(root, JsonValueKind.Object, "an object", errors))
        {
            return null;
        }

        Known(root, TopLevel, errors);
        var id = Name(root, "id", errors);
        var version = root["version"] is { Kind: JsonValueKind.Number } v && int.TryParse(v.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : Invalid(root, "version", "a whole number from 1", errors, 0);
        var enabled = root["enabled"] is not { } e || e.Kind == JsonValueKind.True || (e.Kind != JsonValueKind.False && Invalid(root, "enabled", "true or false", errors, true));
        var severity = Enum(root, "severity", AlertSeverity.Warning, errors);
        var clock = Enum(root, "clock", TimerClock.Event, errors);
        var message = root["message"] is { } m ? (m.Kind == JsonValueKind.String && m.Text!.Length > 0 ? m.Text : Invalid<string?>(root, "message", "a non-empty string", errors, null)) : null;
        var assets = root["assets"] is { } a ? Assets(a, errors) : AssetSelector.Any;
        var calendar = root["calendar"] is { } c ? Calendar(c, errors) : null;
        RulePattern? pattern = null;
        if (root["pattern"] is { } p)
        {
            pattern = Expect(p, JsonValueKind.Object, "an object with one pattern", errors) ? Pattern(p, errors) : null;
        }
        else if (enabled)
        {
            errors.Add(new DefinitionError(root.Line, "pattern", $"missing: a rule needs one of {string.Join(", ", Patterns)} (only a removal, \"enabled\": false, has none)."));
        }

        return id is null || errors.Count > 0 || (enabled && pattern is null)
            ? null
            : new RuleDefinition(id, version, enabled, severity, message, assets ?? AssetSelector.Any, calendar, pattern, clock);
    }

    private static AssetSelector? Assets(PositionedJson node, List<DefinitionError> errors)
    {
        if (!Expect(node, JsonValueKind.Object, "an object with type and attributes", errors))
        {
            return null;
        }

        Known(node, ["type", "attributes"], errors);
        var type = node["type"] is not null ? Name(node, "type", errors) : null;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node["attributes"] is { } list && Expect(list, JsonValueKind.Object, "an object of attribute values by name", errors))
        {
            foreach (var (key, value) in list.Members)
            {
                if (value.Kind == JsonValueKind.String)
                {
                    attributes[key] = value.Text!;
                }
                else
                {
                    errors.Add(new DefinitionError(value.Line, value.Path, "must be a string: attributes are compared as text."));
                }
            }
        }

        return new AssetSelector(type, attributes);
    }

    private static RuleCalendar? Calendar(PositionedJson node, List<DefinitionError> errors)
    {
        if (!Expect(node, JsonValueKind.Object, "an object with timeZone, days, from and to", errors))
        {
            return null;
        }

        Known(node, ["timeZone", "days", "from", "to"], errors);
        string? zone = null;
        if (node["timeZone"] is { } z)
        {
            if (z.Kind == JsonValueKind.String && TimeZoneInfo.TryFindSystemTimeZoneById(z.Text!, out _))
            {
                zone = z.Text;
            }
            else
            {
                Invalid<string?>(node, "timeZone", "a time zone this system knows, such as \"Europe/London\" (IANA names)", errors, null);
            }
        }

        var days = new HashSet<DayOfWeek>();
        if (node["days"] is { } list)
        {
            if (list.Kind != JsonValueKind.Array || list.Items.Count == 0)
            {
                Invalid<object?>(node, "days", "a non-empty array of days (" + string.Join(", ", DayNames) + ")", errors, null);
            }
            else
            {
                foreach (var d in list.Items)
                {
                    var i = d.Kind == JsonValueKind.String ? Array.IndexOf(DayNames, d.Text) : -1;
                    if (i < 0)
                    {
                        errors.Add(new DefinitionError(d.Line, d.Path, $"must be one of {string.Join(", ", DayNames)}{(d.Text is { } t ? $"; '{t}' is not" : string.Empty)}."));
                    }
                    else
                    {
                        days.Add((DayOfWeek)i);
                    }
                }
            }
        }
        else
        {
            days.UnionWith(System.Enum.GetValues<DayOfWeek>());
        }

        var from = node["from"] is not null ? Time(node, "from", errors) : null;
        var to = node["to"] is not null ? Time(node, "to", errors) : null;
        if ((node["from"] is null) != (node["to"] is null))
        {
            errors.Add(new DefinitionError(node.Line, node.Path, "from and to go together: the hours in which the rule may fire."));
        }

        return new RuleCalendar(zone, days, from ?? TimeOnly.MinValue, to ?? TimeOnly.MinValue);
    }

    private static TimeOnly? Time(PositionedJson node, string key, List<DefinitionError> errors) =>
        node[key] is { Kind: JsonValueKind.String } v && v.Text!.Length == 5 && TimeOnly.TryParseExact(v.Text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
            ? t
            : Invalid<TimeOnly?>(node, key, "a local time of day as \"HH:mm\", e.g. \"08:00\"", errors, null);

    private static RulePattern? Pattern(PositionedJson on, List<DefinitionError> errors)
    {
        if (OneOf(on, Patterns, "pattern of ", errors) is not (var kind, var node) || !Expect(node, JsonValueKind.Object, "an object", errors))
        {
            return null;
        }

        switch (kind)
        {
            case "enters" or "leaves":
                return OnlyZone(node, errors) is not { } where ? null : kind == "enters" ? new EntersPattern(where) : new LeavesPattern(where);
            case "dwell":
            {
                Known(node, ["zone", "kind", "longerThan"], errors);
                var dwellZone = ZoneOf(node, errors);
                return Duration(node, "longerThan", required: true, errors) is { } d && dwellZone is not null ? new DwellPattern(dwellZone, d) : null;
            }

            case "absent":
            {
                Known(node, ["zone", "kind", "for"], errors);
                var awayFrom = ZoneOf(node, errors);
                return Duration(node, "for", required: true, errors) is { } d && awayFrom is not null ? new AbsentPattern(awayFrom, d) : null;
            }

            case "occupancy":
                return OnlyZone(node, errors) is { } crowded ? new OccupancyPattern(crowded) : null;
            case "count":
            {
                Known(node, ["zone", "kind", "above"], errors);
                var counted = ZoneOf(node, errors);
                var above = Required(node, "above", errors) is { } a
                    ? a.Kind == JsonValueKind.Number && int.TryParse(a.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                        ? n
                        : Invalid<int?>(node, "above", "a whole number of assets, 0 or more", errors, null)
                    : null;
                return counted is not null && above is { } limit ? new CountPattern(counted, limit) : null;
            }

            case "missing":
                Known(node, ["for"], errors);
                return Duration(node, "for", required: true, errors) is { } gone ? new MissingPattern(gone) : null;
            case "followedBy" or "notFollowedBy":
            {
                Known(node, ["first", "then", "within"], errors);
                var first = Required(node, "first", errors) is { } f ? Step(f, errors) : null;
                var then = Required(node, "then", errors) is { } t ? Step(t, errors) : null;
                var within = Duration(node, "within", required: true, errors);
                if (first is null || then is null || within is not { } w)
                {
                    return null;
                }

                return kind == "followedBy" ? new FollowedByPattern(first, then, w) : new NotFollowedByPattern(first, then, w);
            }

            default:
            {
                Known(node, ["exit", "authorisedBy", "within"], errors);
                var exit = Required(node, "exit", errors) is { } x && Expect(x, JsonValueKind.Object, "an object with zone or kind", errors) ? OnlyZone(x, errors) : null;
                var by = new List<RuleStep>();
                if (Required(node, "authorisedBy", errors) is { } list)
                {
                    if (list.Kind != JsonValueKind.Array || list.Items.Count == 0)
                    {
                        Invalid<object?>(node, "authorisedBy", "a non-empty array of events that authorise leaving (enter, leave or action)", errors, null);
                    }
                    else
                    {
                        by.AddRange(list.Items.Select(i => Step(i, errors)).OfType<RuleStep>());
                    }
                }

                var within = Duration(node, "within", required: true, errors);
                return exit is null || by.Count == 0 || within is not { } w ? null : new ExitWithoutPattern(exit, by, w);
            }
        }
    }

    private static ZoneMatch? OnlyZone(PositionedJson node, List<DefinitionError> errors)
    {
        Known(node, ["zone", "kind"], errors);
        return ZoneOf(node, errors);
    }

    private static RuleStep? Step(PositionedJson node, List<DefinitionError> errors)
    {
        if (!Expect(node, JsonValueKind.Object, "an object with one of enter, leave or action", errors))
        {
            return null;
        }

        if (OneOf(node, Steps, "of ", errors) is not (var kind, var value))
        {
            return null;
        }

        if (kind == "action")
        {
            return value.Kind == JsonValueKind.String && NamePattern().IsMatch(value.Text!)
                ? new RuleStep(RuleStepKind.Action, null, value.Text)
                : Invalid<RuleStep?>(node, "action", "an action's name (lower-case letters, digits and '-'), e.g. \"checkout\"", errors, null);
        }

        if (!Expect(value, JsonValueKind.Object, "an object with zone or kind", errors))
        {
            return null;
        }

        return OnlyZone(value, errors) is { } z ? new RuleStep(kind == "enter" ? RuleStepKind.Enter : RuleStepKind.Leave, z, null) : null;
    }
}
