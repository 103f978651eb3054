using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeStream.Rules.Definitions;

/// <summary>
/// The checks every definition reader shares: each adds a <see cref="DefinitionError"/> naming the line and
/// field, and returns a fallback, so that a reader goes on and reports every problem of a file at once.
/// </summary>
internal static partial class Fields
{
    /// <summary>Parses a duration such as <c>45m</c>, <c>2h</c>, <c>1h30m</c> or <c>90s</c>; null when it is not one.</summary>
    internal static TimeSpan? ParseDuration(string? text)
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

    internal static bool Expect(PositionedJson node, JsonValueKind kind, string what, List<DefinitionError> errors)
    {
        if (node.Kind == kind)
        {
            return true;
        }

        errors.Add(new DefinitionError(node.Line, node.Path, $"must be {what}."));
        return false;
    }

    internal static void Known(PositionedJson node, string[] allowed, List<DefinitionError> errors)
    {
        foreach (var (key, value) in node.Members)
        {
            if (!allowed.Contains(key))
            {
                errors.Add(new DefinitionError(value.Line, value.Path, $"unknown field; allowed here: {string.Join(", ", allowed)}."));
            }
        }
    }

    internal static PositionedJson? Required(PositionedJson node, string key, List<DefinitionError> errors)
    {
        if (node[key] is { } v)
        {
            return v;
        }

        errors.Add(new DefinitionError(node.Line, node.Path.Length == 0 ? key : node.Path + "." + key, "missing."));
        return null;
    }

    internal static string? Name(PositionedJson node, string key, List<DefinitionError> errors) =>
        Required(node, key, errors) is not { } v ? null
        : v.Kind == JsonValueKind.String && NamePattern().IsMatch(v.Text!) ? v.Text
        : Invalid<string?>(node, key, "a name of lower-case letters, digits and '-' (up to 64, starting with a letter or digit)", errors, null);

    internal static TimeSpan? Duration(PositionedJson node, string key, bool required, List<DefinitionError> errors)
    {
        var v = required ? Required(node, key, errors) : node[key];
        return v is null ? null
            : v.Kind == JsonValueKind.String && ParseDuration(v.Text) is { } d ? d
            : Invalid<TimeSpan?>(node, key, "a duration such as \"45m\", \"2h\", \"1h30m\" or \"90s\" (above 0, at most 365d)", errors, null);
    }

    internal static T Enum<T>(PositionedJson node, string key, T fallback, List<DefinitionError> errors)
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

    internal static T Invalid<T>(PositionedJson node, string key, string expected, List<DefinitionError> errors, T fallback)
    {
        var v = node[key];
        errors.Add(new DefinitionError(v?.Line ?? node.Line, node.Path.Length == 0 ? key : node.Path + "." + key, $"must be {expected}{(v?.Text is { } t ? $"; '{t}' is not" : string.Empty)}."));
        return fallback;
    }

    /// <summary>
    /// The one member of <paramref name="node"/> named in <paramref name="choices"/> (unknown members are
    /// reported too); null, with the error, when none or several are given. <paramref name="what"/> names
    /// them in the message ("exactly one trigger of …").
    /// </summary>
    internal static (string Key, PositionedJson Value)? OneOf(PositionedJson node, string[] choices, string what, List<DefinitionError> errors)
    {
        Known(node, choices, errors);
        var given = node.Members.Where(m => choices.Contains(m.Key)).ToList();
        if (given.Count == 1)
        {
            return given[0];
        }

        errors.Add(new DefinitionError(node.Line, node.Path, $"exactly one {what}{string.Join(", ", choices)}; {(given.Count == 0 ? "none is" : string.Join(" and ", given.Select(g => g.Key)) + " are")} given."));
        return null;
    }

    /// <summary>A zone match of <paramref name="node"/>: <c>zone</c> (a zone's name) or <c>kind</c> (every zone of that kind), exactly one.</summary>
    internal static ZoneMatch? ZoneOf(PositionedJson node, List<DefinitionError> errors)
    {
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

        return new ZoneMatch(zone, zoneKind);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    internal static partial Regex NamePattern();

    [GeneratedRegex(@"^(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$")]
    internal static partial Regex DurationPattern();
}
