using System.Collections.Concurrent;
using EdgeStream.Rules.Definitions;

namespace EdgeStream.Rules.Rules;

/// <summary>One version of a rule and the event time from which it applies.</summary>
/// <param name="Definition">The definition (disabled: the rule is removed from <paramref name="EffectiveUs"/> on).</param>
/// <param name="EffectiveUs">Events and timers at or after this time (µs since the epoch) run this version.</param>
/// <param name="Machine">The machine that runs it.</param>
public sealed record RuleVersion(RuleDefinition Definition, long EffectiveUs, RuleMachine Machine);

/// <summary>
/// Every version of every rule, indexed by the asset type it watches: an immutable value, so that the
/// engine's threads read one consistent set while a rule is added, changed or removed (<see cref="With"/>
/// returns a new catalog, which the host swaps in atomically).
/// </summary>
/// <remarks>
/// An event or timer runs the newest version whose effective time is at or before its own time, so a
/// swap has one stated point: every event before it runs the old version, every event at or after it
/// the new one, and none runs neither. An event older than a rule's first version runs that version (the
/// rule did not exist then, but it does now: a backlog a gateway uploads late is still watched). Versions
/// are never removed, so a replay picks the same version for the same event as the first run did.
/// </remarks>
public sealed class RuleCatalog
{
    private static readonly RuleVersion[][] None = [];

    private readonly Dictionary<string, RuleVersion[]> _byId;
    private readonly Dictionary<string, RuleVersion[][]> _forType;
    private readonly RuleVersion[][] _forAnyType;
    private readonly Dictionary<string, RuleVersion[][]> _sightingsForType;
    private readonly RuleVersion[][] _sightingsForAnyType;
    private readonly Func<string, string?> _kindOf;
    private readonly Func<string, TimeZoneInfo?> _timeZoneOf;
    private readonly Dictionary<string, StartIndex> _startForType;
    private readonly StartIndex _startForAnyType;
    private readonly ConcurrentDictionary<(string? Type, string Zone, string? Kind), RuleVersion[][]> _startable = new();

    private RuleCatalog(Dictionary<string, RuleVersion[]> byId, Func<string, string?> kindOf, Func<string, TimeZoneInfo?> timeZoneOf)
    {
        _byId = byId;
        _kindOf = kindOf;
        _timeZoneOf = timeZoneOf;

        // Each rule goes under every type one of its versions names; one that names none watches every
        // type. Each list is in rule id order (ordinal), as a tag's runs are, so that the host walks both
        // together.
        var any = byId.Values.Where(v => v.Any(x => x.Definition.Assets.Type is null)).ToArray();
        _forAnyType = Sorted(any);
        _forType = byId.Values
            .SelectMany(v => v.Select(x => x.Definition.Assets.Type).OfType<string>().Distinct().Select(t => (Type: t, Versions: v)))
            .GroupBy(x => x.Type, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Sorted(g.Select(x => x.Versions).Concat(any).Distinct()), StringComparer.Ordinal);
        _sightingsForAnyType = [.. _forAnyType.Where(Sightings)];
        _sightingsForType = _forType.ToDictionary(kv => kv.Key, kv => kv.Value.Where(Sightings).ToArray(), StringComparer.Ordinal);
        WatchesSightings = byId.Values.Any(Sightings);
        ZoneWide = Sorted(byId.Values.Where(v => v.Any(x => x.Machine.ZoneWide)));
        _startForAnyType = new StartIndex(_forAnyType);
        _startForType = _forType.ToDictionary(kv => kv.Key, kv => new StartIndex(kv.Value), StringComparer.Ordinal);

        static RuleVersion[][] Sorted(IEnumerable<RuleVersion[]> rules) => [.. rules.OrderBy(v => v[0].Definition.Id, StringComparer.Ordinal)];
        static bool Sightings(RuleVersion[] v) => v.Any(x => x.Machine.WatchesSightings);
    }

    /// <summary>A catalog with no rule; <paramref name="kindOf"/> says what kind a zone is, <paramref name="timeZoneOf"/> its site's time zone.</summary>
    public static RuleCatalog Empty(Func<string, string?> kindOf, Func<string, TimeZoneInfo?> timeZoneOf) => new(new(StringComparer.Ordinal), kindOf, timeZoneOf);

    /// <summary>Every version, oldest first per rule.</summary>
    public IEnumerable<RuleVersion> Versions => _byId.Values.SelectMany(v => v);

    /// <summary>True when no rule was ever defined.</summary>
    public bool IsEmpty => _byId.Count == 0;

    /// <summary>True when some version counts sightings (<c>missing</c>): only then do reads reach rules.</summary>
    public bool WatchesSightings { get; }

    /// <summary>The rules of which some version is zone-wide (<c>occupancy</c>, <c>count</c>), each as its versions, in rule id order: the zone stage runs them.</summary>
    public RuleVersion[][] ZoneWide { get; }

    /// <summary>The rules that may watch an asset of <paramref name="assetType"/> and count sightings (<c>missing</c>), each as its versions, in rule id order.</summary>
    public RuleVersion[][] SightingCandidates(string? assetType) =>
        assetType is not null && _sightingsForType.TryGetValue(assetType, out var rules) ? rules : _sightingsForAnyType.Length > 0 ? _sightingsForAnyType : None;

    /// <summary>
    /// The rules watching <paramref name="assetType"/> that an input of <paramref name="kind"/> about
    /// <paramref name="subject"/> (a zone, or an action's name) may start: the rules that name that zone,
    /// its kind (as <paramref name="kindOfZone"/> says now), or that action; in rule id order. The others
    /// need to see the input only when the tag already has a run of them.
    /// </summary>
    public RuleVersion[][] Startable(string? assetType, RuleInputKind kind, string subject, string? kindOfZone)
    {
        var index = assetType is not null && _startForType.TryGetValue(assetType, out var i) ? i : _startForAnyType;
        if (kind == RuleInputKind.Action)
        {
            return index.Actions.GetValueOrDefault(subject) ?? None;
        }

        return _startable.GetOrAdd((assetType, subject, kindOfZone), key =>
        {
            var byZone = index.Zones.GetValueOrDefault(key.Zone) ?? None;
            var byKind = key.Kind is null ? None : index.Kinds.GetValueOrDefault(key.Kind) ?? None;
            return byKind.Length == 0 ? byZone : byZone.Length == 0 ? byKind : [.. byZone.Concat(byKind).Distinct().OrderBy(v => v[0].Definition.Id, StringComparer.Ordinal)];
        });
    }

    /// <summary>The kind of <paramref name="zone"/>, as the catalog's machines see it (null: unknown).</summary>
    public string? KindOf(string zone) => _kindOf(zone);

    /// <summary>Every version of rule <paramref name="id"/>, oldest first, or null.</summary>
    public RuleVersion[]? VersionsOf(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Version <paramref name="version"/> of rule <paramref name="id"/>, or null.</summary>
    public RuleVersion? Get(string id, int version) =>
        _byId.TryGetValue(id, out var versions) ? Array.Find(versions, v => v.Definition.Version == version) : null;

    /// <summary>The version of rule <paramref name="id"/> in effect at <paramref name="atUs"/>, or null when there is no such rule.</summary>
    public RuleVersion? ForId(string id, long atUs) => _byId.TryGetValue(id, out var versions) ? At(versions, atUs) : null;

    /// <summary>The newest of <paramref name="versions"/> in effect at <paramref name="atUs"/> (the first, for a time before it).</summary>
    public static RuleVersion At(RuleVersion[] versions, long atUs)
    {
        for (var i = versions.Length - 1; i > 0; i--)
        {
            if (versions[i].EffectiveUs <= atUs)
            {
                return versions[i];
            }
        }

        return versions[0];
    }

    /// <summary>A catalog with <paramref name="rule"/> added, effective from <paramref name="effectiveUs"/>; the same id, version and time again returns this catalog.</summary>
    /// <exception cref="DefinitionException">The version is not newer than the newest, or would take effect before it.</exception>
    public RuleCatalog With(RuleDefinition rule, long effectiveUs)
    {
        if (_byId.TryGetValue(rule.Id, out var versions))
        {
            var newest = versions[^1];
            if (newest.Definition.Version == rule.Version && newest.EffectiveUs == effectiveUs)
            {
                return this;
            }

            if (rule.Version <= newest.Definition.Version)
            {
                throw Refused("version", $"version {rule.Version} is not newer than version {newest.Definition.Version} of '{rule.Id}'; give {newest.Definition.Version + 1}");
            }

            if (effectiveUs < newest.EffectiveUs)
            {
                throw Refused("version", $"version {rule.Version} would take effect before version {newest.Definition.Version}, which is already in effect");
            }
        }
        else if (!rule.Enabled)
        {
            throw Refused("enabled", $"there is no rule '{rule.Id}' to remove");
        }

        var added = new RuleVersion(rule, effectiveUs, new RuleMachine(rule, _kindOf, _timeZoneOf));
        var byId = new Dictionary<string, RuleVersion[]>(_byId, StringComparer.Ordinal) { [rule.Id] = [.. versions ?? [], added] };
        return new RuleCatalog(byId, _kindOf, _timeZoneOf);
    }

    /// <summary>One type's rules by the zones, kinds and actions their versions name, each list in rule id order.</summary>
    private sealed class StartIndex
    {
        public StartIndex(RuleVersion[][] rules)
        {
            Zones = Index(rules, m => m.Zones);
            Kinds = Index(rules, m => m.Kinds);
            Actions = Index(rules, m => m.Actions);
        }

        public Dictionary<string, RuleVersion[][]> Zones { get; }

        public Dictionary<string, RuleVersion[][]> Kinds { get; }

        public Dictionary<string, RuleVersion[][]> Actions { get; }

        private static Dictionary<string, RuleVersion[][]> Index(RuleVersion[][] rules, Func<RuleMachine, IReadOnlyList<string>> names) =>
            rules.SelectMany(v => v.SelectMany(x => names(x.Machine)).Distinct().Select(n => (Name: n, Rule: v)))
                .GroupBy(x => x.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(x => x.Rule).ToArray(), StringComparer.Ordinal);
    }

    private static DefinitionException Refused(string path, string message) => new([new DefinitionError(1, path, message)]);
}
