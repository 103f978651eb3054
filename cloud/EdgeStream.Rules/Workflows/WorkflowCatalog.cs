using EdgeStream.Rules.Definitions;

namespace EdgeStream.Rules.Workflows;

/// <summary>One version of a workflow and the event time from which it applies.</summary>
/// <param name="Definition">The definition.</param>
/// <param name="EffectiveUs">Events and timers at or after this time (µs since the epoch) run this version.</param>
/// <param name="Machine">The machine that runs it.</param>
public sealed record WorkflowVersion(WorkflowDefinition Definition, long EffectiveUs, WorkflowMachine Machine);

/// <summary>
/// Every version of every workflow, by asset type: an immutable value, so that the engine's threads read
/// one consistent set while a new version is added (<see cref="With"/> returns a new catalog, which the
/// host swaps in atomically).
/// </summary>
/// <remarks>
/// <para>The stated point a version takes effect from is an event time, <see cref="WorkflowVersion.EffectiveUs"/>
/// (by default the moment it was saved): an event or timer runs the newest version whose effective time
/// is at or before its own time. Versions are never removed, so a replay from a checkpoint picks the same
/// version for the same event as the first run did, and late events keep the version of their time.</para>
/// <para>One workflow per asset type: a second id for a type that has one is refused.</para>
/// </remarks>
public sealed class WorkflowCatalog
{
    private readonly Dictionary<string, WorkflowVersion[]> _byType;
    private readonly Dictionary<string, WorkflowVersion[]> _byId;
    private readonly Func<string, string?> _kindOf;
    private readonly HashSet<string> _peerTypes;

    private WorkflowCatalog(Dictionary<string, WorkflowVersion[]> byType, Dictionary<string, WorkflowVersion[]> byId, Func<string, string?> kindOf)
    {
        _byType = byType;
        _byId = byId;
        _kindOf = kindOf;
        _peerTypes = byId.Values.SelectMany(v => v).SelectMany(v => v.Machine.PeerTypes).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>True when the workflow of <paramref name="assetType"/> in effect at <paramref name="atUs"/> waits for an asset of <paramref name="peerType"/> entering its zone.</summary>
    public bool WatchesPeer(string assetType, string peerType, long atUs) =>
        ForType(assetType, atUs) is { } v && v.Machine.PeerTypes.Contains(peerType);

    /// <summary>True when some workflow waits for <paramref name="peerType"/> entering an asset's zone.</summary>
    public bool AnyWatches(string peerType) => _peerTypes.Contains(peerType);

    /// <summary>A catalog with no workflow; <paramref name="kindOf"/> says what kind a zone is (null when unknown).</summary>
    public static WorkflowCatalog Empty(Func<string, string?> kindOf) => new(new(StringComparer.Ordinal), new(StringComparer.Ordinal), kindOf);

    /// <summary>Every version, oldest first per workflow.</summary>
    public IEnumerable<WorkflowVersion> Versions => _byId.Values.SelectMany(v => v);

    /// <summary>True when no workflow is defined.</summary>
    public bool IsEmpty => _byId.Count == 0;

    /// <summary>The version of the workflow for <paramref name="assetType"/> that applies at <paramref name="atUs"/>, or null.</summary>
    public WorkflowVersion? ForType(string assetType, long atUs) =>
        _byType.TryGetValue(assetType, out var versions) ? At(versions, atUs) : null;

    /// <summary>The version of workflow <paramref name="id"/> that applies at <paramref name="atUs"/>, or null.</summary>
    public WorkflowVersion? ForId(string id, long atUs) =>
        _byId.TryGetValue(id, out var versions) ? At(versions, atUs) : null;

    /// <summary>Version <paramref name="version"/> of workflow <paramref name="id"/>, or null.</summary>
    public WorkflowVersion? Get(string id, int version) =>
        _byId.TryGetValue(id, out var versions) ? versions.FirstOrDefault(v => v.Definition.Version == version) : null;

    /// <summary>
    /// A catalog with <paramref name="definition"/> added, effective from <paramref name="effectiveUs"/>.
    /// Adding the same id and version again with the same content returns this catalog.
    /// </summary>
    /// <exception cref="DefinitionException">The version is not newer than the newest, takes effect before it, or the asset type belongs to another workflow.</exception>
    public WorkflowCatalog With(WorkflowDefinition definition, long effectiveUs)
    {
        if (_byId.TryGetValue(definition.Id, out var versions))
        {
            var newest = versions[^1];
            if (newest.Definition.Version == definition.Version && newest.EffectiveUs == effectiveUs)
            {
                return this;
            }

            if (definition.Version <= newest.Definition.Version)
            {
                throw Refused("version", $"version {definition.Version} is not newer than version {newest.Definition.Version} of '{definition.Id}'; give {newest.Definition.Version + 1}");
            }

            if (effectiveUs < newest.EffectiveUs)
            {
                throw Refused("version", $"version {definition.Version} would take effect before version {newest.Definition.Version}, which is already in effect");
            }

            if (newest.Definition.AssetType != definition.AssetType)
            {
                throw Refused("assetType", $"'{definition.Id}' runs for asset type '{newest.Definition.AssetType}'; a workflow keeps its asset type (make a new workflow for '{definition.AssetType}')");
            }
        }
        else if (_byType.TryGetValue(definition.AssetType, out var taken))
        {
            throw Refused("assetType", $"asset type '{definition.AssetType}' already runs workflow '{taken[0].Definition.Id}'; one workflow per asset type");
        }

        var added = new WorkflowVersion(definition, effectiveUs, new WorkflowMachine(definition, _kindOf));
        var byId = new Dictionary<string, WorkflowVersion[]>(_byId, StringComparer.Ordinal) { [definition.Id] = [.. versions ?? [], added] };
        var byType = new Dictionary<string, WorkflowVersion[]>(_byType, StringComparer.Ordinal) { [definition.AssetType] = byId[definition.Id] };
        return new WorkflowCatalog(byType, byId, _kindOf);
    }

    private static WorkflowVersion? At(WorkflowVersion[] versions, long atUs)
    {
        for (var i = versions.Length - 1; i >= 0; i--)
        {
            if (versions[i].EffectiveUs <= atUs)
            {
                return versions[i];
            }
        }

        // Older than every version: the first applies (there was no workflow then, but the asset runs one now).
        return versions[0];
    }

    private static DefinitionException Refused(string path, string message) => new([new DefinitionError(1, path, message)]);
}
