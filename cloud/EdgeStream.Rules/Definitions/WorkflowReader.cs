using System.Globalization;
using System.Text;
using System.Text.Json;

using static EdgeStream.Rules.Definitions.Fields;

namespace EdgeStream.Rules.Definitions;

/// <summary>
/// Reads a workflow definition (JSON, <c>Schemas/workflow.schema.json</c>) and validates it whole: every
/// problem is reported, each with its line and field, and nothing half-valid is returned.
/// </summary>
public static class WorkflowReader
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
    public static TimeSpan? ParseDuration(string? text) => Fields.ParseDuration(text);

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
        if (OneOf(on, Triggers, "trigger of ", errors) is not (var kind, var node))
        {
            return null;
        }

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
                if (ZoneOf(node, errors) is not { } match)
                {
                    return null;
                }

                return kind == "enter"
                    ? new EnterTrigger(match)
                    : new LeaveTrigger(match, Duration(node, "absentFor", required: false, errors), Enum<TimerClock>(node, "clock", TimerClock.Event, errors));
        }
    }

}
