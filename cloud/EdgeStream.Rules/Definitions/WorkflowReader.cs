using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeStream.Rules.Definitions;

/// <summary>
/// Reads a workflow definition (JSON, <c>Schemas/workflow.schema.json</c>) and validates it whole: every
/// problem is reported, each with its line and field, and nothing half-valid is returned.
/// </summary>
public static partial class WorkflowReader
{
    private static readonly string[] TopLevel = ["$schema", "id", "version", "assetType", "initial", "states", "transitions", "description"];
    private static readonly string[] StateFields = ["final", "alerts", "description"];
    private static readonly string[] AlertFields = ["id", "after", "severity", "message", "clock"];
    private static readonly string[] TransitionFields = ["from", "to", "on", "description"];
    private static readonly string[] Triggers = ["enter", "leave", "dwell", "manual", "peerEnters"];

    /// <summary>Reads <paramref name="json"/>.</summary>
    /// <exception cref="DefinitionException">The definition is not valid; every problem is listed.</exception>
    public static WorkflowDefinition Read(string json) => Read(Encoding.UTF8.GetBytes(json));

    /// <summary>Reads UTF-8 <paramref name="utf8"/>.</summary>
    /// <exception cref="DefinitionException">The definition is not valid; every problem is listed.</exception>
    public static WorkflowDefinition Read(ReadOnlySpan<byte> utf8)
    {
        var errors = new List<DefinitionError>();
        var root = PositionedJson.Parse(utf8, errors);
        var definition = errors.Count == 0 ? Build(root, errors) : null;
        if (errors.Count > 0 || definition is null)
        {
            throw new DefinitionException([.. errors.OrderBy(e => e.Line)]);
        }

        return definition;
    }

    /// <summary>Parses a duration such as <c>45m</c>, <c>2h</c>, <c>1h30m</c> or <c>90s</c>; null when it is not one.</summary>
    public static TimeSpan? ParseDuration(string? text)
    {
        var m = text is null ? null : DurationPattern().Match(text);
        if (m is null || !m.Success || text!.Length == 0)
        {
            return null;
        }

        long Part(int g) => m.Groups[g].Success ? long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture) : 0;
        var d = TimeSpan.FromDays(Part(1)) + TimeSpan.FromHours(Part(2)) + TimeSpan.FromMinutes(Part(3)) + TimeSpan.FromSeconds(Part(4));
        return d > TimeSpan.Zero && d <= TimeSpan.FromDays(365) ? d : null;
    }

    private static WorkflowDefinition? Build(PositionedJson root, List<DefinitionError> errors)
    {
        if (!Expect(root, JsonValueKind.Object, "an object", errors))
        {
            return null;
        }

        Known(root, TopLevel, errors);
        var id = Name(root, "id", errors);
        var version = root["version"] is { Kind: JsonValueKind.Number } v && int.TryParse(v.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : Invalid(root, "version", "a whole number from 1", errors, 0);
        var assetType = Name(root, "assetType", errors);

        var states = new List<WorkflowState>();
        var alertIds = new HashSet<string>(StringComparer.Ordinal);
        if (Required(root, "states", errors) is { } statesNode && Expect(statesNode, JsonValueKind.Object, "an object of states by name", errors))
        {
            if (statesNode.Members.Count == 0)
            {
                errors.Add(new DefinitionError(statesNode.Line, statesNode.Path, "no states: a workflow needs at least two."));
            }

            foreach (var (name, node) in statesNode.Members)
            {
                if (!NamePattern().IsMatch(name))
                {
                    errors.Add(new DefinitionError(node.Line, node.Path, $"'{name}' is not a state name (lower-case letters, digits and '-', up to 64)."));
                }

                if (State(name, node, alertIds, errors) is { } state)
                {
                    states.Add(state);
                }
            }
        }

        var initial = Name(root, "initial", errors);
        if (initial is not null && root["states"] is { Kind: JsonValueKind.Object } && states.All(s => s.Name != initial))
        {
            errors.Add(new DefinitionError(root["initial"]!.Line, "initial", $"'{initial}' is not one of the states ({string.Join(", ", states.Select(s => s.Name))})."));
        }

        var transitions = new List<WorkflowTransition>();
        if (Required(root, "transitions", errors) is { } list && Expect(list, JsonValueKind.Array, "an array of transitions", errors))
        {
            foreach (var t in list.Items)
            {
                if (Transition(t, states, errors) is { } transition)
                {
                    transitions.Add(transition);
                }
            }
        }

        return id is null || assetType is null || initial is null || errors.Count > 0
            ? null
            : new WorkflowDefinition(id, version, assetType, initial, states, transitions);
    }

    private static WorkflowState? State(string name, PositionedJson node, HashSet<string> alertIds, List<DefinitionError> errors)
    {
        if (!Expect(node, JsonValueKind.Object, "an object (use {} for a plain state)", errors))
        {
            return null;
        }

        Known(node, StateFields, errors);
        var final = node["final"] is { } f && (f.Kind == JsonValueKind.True || (f.Kind != JsonValueKind.False && Invalid(node, "final", "true or false", errors, false)));
        var alerts = new List<StateAlert>();
        if (node["alerts"] is { } list && Expect(list, JsonValueKind.Array, "an array of alerts", errors))
        {
            foreach (var a in list.Items)
            {
                if (!Expect(a, JsonValueKind.Object, "an object", errors))
                {
                    continue;
                }

                Known(a, AlertFields, errors);
                var id = Name(a, "id", errors);
                if (id is not null && !alertIds.Add(id))
                {
                    errors.Add(new DefinitionError(a["id"]!.Line, a["id"]!.Path, $"alert '{id}' is defined twice in this workflow."));
                }

                var after = Duration(a, "after", required: true, errors);
                var severity = Enum<AlertSeverity>(a, "severity", AlertSeverity.Warning, errors);
                var clock = Enum<TimerClock>(a, "clock", TimerClock.Event, errors);
                var message = a["message"] is { } m ? (m.Kind == JsonValueKind.String ? m.Text : Invalid<string?>(a, "message", "a string", errors, null)) : null;
                if (id is not null && after is { } d)
                {
                    alerts.Add(new StateAlert(id, d, severity, message, clock));
                }
            }
        }

        if (final && alerts.Count > 0)
        {
            errors.Add(new DefinitionError(node["alerts"]!.Line, node.Path + ".alerts", "a final state has no alerts: the asset's run of the workflow is over there."));
        }

        return new WorkflowState(name, final, alerts);
    }

    private static WorkflowTransition? Transition(PositionedJson t, List<WorkflowState> states, List<DefinitionError> errors)
    {
        if (!Expect(t, JsonValueKind.Object, "an object with from, to and on", errors))
        {
            return null;
        }

        Known(t, TransitionFields, errors);
        var names = states.Select(s => s.Name).ToList();
        var from = new List<string>();
        switch (Required(t, "from", errors))
        {
            case { Kind: JsonValueKind.String } one:
                from.Add(one.Text!);
                break;
            case { Kind: JsonValueKind.Array } many when many.Items.Count > 0 && many.Items.All(i => i.Kind == JsonValueKind.String):
                from.AddRange(many.Items.Select(i => i.Text!));
                break;
            case { } other:
                errors.Add(new DefinitionError(other.Line, other.Path, "a state's name, a non-empty array of names, or \"*\" (any state that is not final)."));
                break;
        }

        foreach (var s in from)
        {
            if (s != "*" && !names.Contains(s))
            {
                errors.Add(new DefinitionError(t["from"]!.Line, t.Path + ".from", $"'{s}' is not one of the states ({string.Join(", ", names)})."));
            }
            else if (states.FirstOrDefault(x => x.Name == s) is { Final: true })
            {
                errors.Add(new DefinitionError(t["from"]!.Line, t.Path + ".from", $"'{s}' is final: no transition leaves it."));
            }
        }

        var to = Name(t, "to", errors);
        if (to is not null && !names.Contains(to))
        {
            errors.Add(new DefinitionError(t["to"]!.Line, t.Path + ".to", $"'{to}' is not one of the states ({string.Join(", ", names)})."));
        }

        var on = Required(t, "on", errors) is { } o && Expect(o, JsonValueKind.Object, "an object with one trigger", errors) ? Trigger(o, errors) : null;
        return to is null || on is null || from.Count == 0 ? null : new WorkflowTransition(from, to, on);
    }

    private static WorkflowTrigger? Trigger(PositionedJson on, List<DefinitionError> errors)
    {
        Known(on, Triggers, errors);
        var given = on.Members.Where(m => Triggers.Contains(m.Key)).ToList();
        if (given.Count != 1)
        {
            errors.Add(new DefinitionError(on.Line, on.Path, $"exactly one trigger of {string.Join(", ", Triggers)}; {(given.Count == 0 ? "none is" : string.Join(" and ", given.Select(g => g.Key)) + " are")} given."));
            return null;
        }

        var (kind, node) = given[0];
        switch (kind)
        {
            case "manual":
                return node.Kind == JsonValueKind.String && NamePattern().IsMatch(node.Text!)
                    ? new ManualTrigger(node.Text!)
                    : Invalid<WorkflowTrigger?>(on, "manual", "an action's name (lower-case letters, digits and '-'), e.g. \"discharge\"", errors, null);
            case "dwell":
                if (!Expect(node, JsonValueKind.Object, "an object with after (and clock)", errors))
                {
                    return null;
                }

                Known(node, ["after", "clock"], errors);
                return Duration(node, "after", required: true, errors) is { } d ? new DwellTrigger(d, Enum<TimerClock>(node, "clock", TimerClock.Event, errors)) : null;
            case "peerEnters":
                if (!Expect(node, JsonValueKind.Object, "an object with assetType", errors))
                {
                    return null;
                }

                Known(node, ["assetType"], errors);
                return Name(node, "assetType", errors) is { } type ? new PeerEntersTrigger(type) : null;
            default:
                if (!Expect(node, JsonValueKind.Object, "an object with zone or kind", errors))
                {
                    return null;
                }

                Known(node, kind == "leave" ? ["zone", "kind", "absentFor", "clock"] : ["zone", "kind"], errors);
                var zone = node["zone"] is { } z ? (z.Kind == JsonValueKind.String && z.Text!.Length > 0 ? z.Text : Invalid<string?>(node, "zone", "a zone's name", errors, null)) : null;
                var zoneKind = node["kind"] is { } k ? (k.Kind == JsonValueKind.String && k.Text!.Length > 0 ? k.Text : Invalid<string?>(node, "kind", "a kind of zone, e.g. \"exit\"", errors, null)) : null;
                if ((node["zone"] is null) == (node["kind"] is null))
                {
                    errors.Add(new DefinitionError(node.Line, node.Path, "either zone (a zone's name) or kind (every zone of that kind), not both and not neither."));
                    return null;
                }

                if (zone is null && zoneKind is null)
                {
                    return null;
                }

                var match = new ZoneMatch(zone, zoneKind);
                return kind == "enter"
                    ? new EnterTrigger(match)
                    : new LeaveTrigger(match, Duration(node, "absentFor", required: false, errors), Enum<TimerClock>(node, "clock", TimerClock.Event, errors));
        }
    }

    private static bool Expect(PositionedJson node, JsonValueKind kind, string what, List<DefinitionError> errors)
    {
        if (node.Kind == kind)
        {
            return true;
        }

        errors.Add(new DefinitionError(node.Line, node.Path, $"must be {what}."));
        return false;
    }

    private static void Known(PositionedJson node, string[] allowed, List<DefinitionError> errors)
    {
        foreach (var (key, value) in node.Members)
        {
            if (!allowed.Contains(key))
            {
                errors.Add(new DefinitionError(value.Line, value.Path, $"unknown field; allowed here: {string.Join(", ", allowed)}."));
            }
        }
    }

    private static PositionedJson? Required(PositionedJson node, string key, List<DefinitionError> errors)
    {
        if (node[key] is { } v)
        {
            return v;
        }

        errors.Add(new DefinitionError(node.Line, node.Path.Length == 0 ? key : node.Path + "." + key, "missing."));
        return null;
    }

    private static string? Name(PositionedJson node, string key, List<DefinitionError> errors) =>
        Required(node, key, errors) is not { } v ? null
        : v.Kind == JsonValueKind.String && NamePattern().IsMatch(v.Text!) ? v.Text
        : Invalid<string?>(node, key, "a name of lower-case letters, digits and '-' (up to 64, starting with a letter or digit)", errors, null);

    private static TimeSpan? Duration(PositionedJson node, string key, bool required, List<DefinitionError> errors)
    {
        var v = required ? Required(node, key, errors) : node[key];
        return v is null ? null
            : v.Kind == JsonValueKind.String && ParseDuration(v.Text) is { } d ? d
            : Invalid<TimeSpan?>(node, key, "a duration such as \"45m\", \"2h\", \"1h30m\" or \"90s\" (above 0, at most 365d)", errors, null);
    }

    private static T Enum<T>(PositionedJson node, string key, T fallback, List<DefinitionError> errors)
        where T : struct, Enum
    {
        if (node[key] is not { } v)
        {
            return fallback;
        }

        var names = System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToArray();
        return v.Kind == JsonValueKind.String && names.Contains(v.Text) && System.Enum.TryParse<T>(v.Text, ignoreCase: true, out var e)
            ? e
            : Invalid(node, key, "one of " + string.Join(", ", names), errors, fallback);
    }

    private static T Invalid<T>(PositionedJson node, string key, string expected, List<DefinitionError> errors, T fallback)
    {
        var v = node[key];
        errors.Add(new DefinitionError(v?.Line ?? node.Line, node.Path.Length == 0 ? key : node.Path + "." + key, $"must be {expected}{(v?.Text is { } t ? $"; '{t}' is not" : string.Empty)}."));
        return fallback;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$")]
    private static partial Regex DurationPattern();
}
