using System.Collections.Concurrent;
using System.Text;
using EdgeStream.Contracts;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Rules;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Workflows;

namespace EdgeStream.Cloud.Tracking;

/// <summary>
/// The service's workflows and rules: every stored version (the database is the record), the definition
/// files of <see cref="TrackingSettings.WorkflowsFolder"/> and <see cref="TrackingSettings.RulesFolder"/>
/// stored at start when their version is new, and the lookups the job needs (which registered asset an
/// EPC belongs to, with its type and attributes; what kind a zone is; its site's time zone). New versions
/// come through <see cref="SaveAsync"/> and <see cref="SaveRuleAsync"/> (the API) or, on a worker in
/// another process, from the database within <see cref="PollInterval"/>; either way they take effect
/// from their effective time, which is <see cref="EffectiveDelay"/> after saving so that every worker has
/// them before any event of that time exists.
/// </summary>
public sealed partial class DefinitionDirectory(ITrackingStore tracking, IWorkflowStore store, ILogger<DefinitionDirectory> log) : IAsyncDisposable
{
    /// <summary>How often a worker looks for versions saved by another process, and refreshes asset types and zone kinds.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long after saving a version takes effect by default (longer than <see cref="PollInterval"/>).</summary>
    public static readonly TimeSpan EffectiveDelay = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<Epc, AssetProfile> _profiles = new();
    private readonly ConcurrentDictionary<string, string> _kinds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeZoneInfo> _zoneTimes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _capacities = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _saving = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private TagWorkflows? _workflows;
    private TagRules? _rules;
    private Task? _poll;

    /// <summary>The workflows the tracking job runs (after <see cref="StartAsync"/>).</summary>
    public TagWorkflows Workflows => _workflows ?? throw new InvalidOperationException("The definition directory is not started.");

    /// <summary>The rules the tracking job runs (after <see cref="StartAsync"/>).</summary>
    public TagRules Rules => _rules ?? throw new InvalidOperationException("The definition directory is not started.");

    /// <summary>Loads stored versions and the folders' files, and starts polling.</summary>
    /// <exception cref="DefinitionException">A file is not a valid definition, or its version conflicts with the stored ones (the message names the file).</exception>
    public async Task StartAsync(string? workflowsFolder, string? rulesFolder, CancellationToken cancellationToken)
    {
        await RefreshLookupsAsync(cancellationToken);
        var stored = await store.ListWorkflowsAsync(cancellationToken);
        var catalog = Add(WorkflowCatalog.Empty(KindOf), stored);
        foreach (var (file, body, definition) in await ReadFolderAsync(workflowsFolder, WorkflowReader.Read, cancellationToken))
        {
            if (catalog.Get(definition.Id, definition.Version) is not null)
            {
                WarnIfDiffers(file, definition.Id, definition.Version, body, stored.First(s => s.Id == definition.Id && s.Version == definition.Version).Body);
                continue;
            }

            catalog = await StoreAsync(catalog, definition, body, EventTimes.NowUs(), "file " + Path.GetFileName(file), cancellationToken);
        }

        var storedRules = await store.ListRulesAsync(cancellationToken);
        var rules = Add(RuleCatalog.Empty(KindOf, TimeZoneOf), storedRules);
        foreach (var (file, body, rule) in await ReadFolderAsync(rulesFolder, RuleReader.Read, cancellationToken))
        {
            if (rules.Get(rule.Id, rule.Version) is not null)
            {
                WarnIfDiffers(file, rule.Id, rule.Version, body, storedRules.First(s => s.Id == rule.Id && s.Version == rule.Version).Body);
                continue;
            }

            rules = await StoreRuleAsync(rules, rule, body, EventTimes.NowUs(), "file " + Path.GetFileName(file), cancellationToken);
        }

        _workflows = new TagWorkflows(catalog, epc => _profiles.TryGetValue(epc, out var p) ? p.Type : null);
        _rules = new TagRules(rules, ProfileOf);
        _poll = Task.Run(PollAsync);
        LogLoaded(log, catalog.Versions.Count(), string.Join(", ", catalog.Versions.GroupBy(v => v.Definition.Id).Select(g => $"{g.Key} v{g.Last().Definition.Version}")));
        LogRulesLoaded(log, rules.Versions.GroupBy(v => v.Definition.Id).Count(g => g.Last().Definition.Enabled), rules.Versions.Count());
    }

    /// <summary>Validates and stores a new rule version (a removal is one), in force from <paramref name="effectiveUs"/> (default: <see cref="EffectiveDelay"/> from now).</summary>
    /// <exception cref="DefinitionException">Invalid, or the version is taken or not newer: the running set is unchanged.</exception>
    public async Task<RuleVersion> SaveRuleAsync(string body, string savedBy, long? effectiveUs, CancellationToken cancellationToken)
    {
        var rule = RuleReader.Read(Encoding.UTF8.GetBytes(body));
        var effective = Effective(effectiveUs);
        await _saving.WaitAsync(cancellationToken);
        try
        {
            var rules = await StoreRuleAsync(Rules.Catalog, rule, body, effective, savedBy, cancellationToken);
            Rules.Catalog = rules;
            return rules.Get(rule.Id, rule.Version)!;
        }
        finally
        {
            _saving.Release();
        }
    }

    /// <summary>Removes rule <paramref name="id"/> from <paramref name="effectiveUs"/> on: a new version that disables it. Null when there is no such rule.</summary>
    /// <exception cref="DefinitionException">The rule is already removed, or the time is in the past.</exception>
    public async Task<RuleVersion?> RemoveRuleAsync(string id, string savedBy, long? effectiveUs, CancellationToken cancellationToken)
    {
        var newest = Rules.Catalog.Versions.LastOrDefault(v => v.Definition.Id == id);
        if (newest is null)
        {
            return null;
        }

        if (!newest.Definition.Enabled)
        {
            throw new DefinitionException([new DefinitionError(1, "id", $"rule '{id}' is already removed (version {newest.Definition.Version})")]);
        }

        return await SaveRuleAsync(RuleReader.Removal(id, newest.Definition.Version + 1), savedBy, effectiveUs, cancellationToken);
    }

    /// <summary>Validates and stores a new version, and puts it in force from <paramref name="effectiveUs"/> (default: <see cref="EffectiveDelay"/> from now).</summary>
    /// <exception cref="DefinitionException">Invalid, or the version is taken or not newer: the running set is unchanged.</exception>
    public async Task<WorkflowVersion> SaveAsync(string body, string savedBy, long? effectiveUs, CancellationToken cancellationToken)
    {
        var definition = WorkflowReader.Read(Encoding.UTF8.GetBytes(body));
        var effective = Effective(effectiveUs);
        await _saving.WaitAsync(cancellationToken);
        try
        {
            var catalog = await StoreAsync(Workflows.Catalog, definition, body, effective, savedBy, cancellationToken);
            Workflows.Catalog = catalog;
            return catalog.Get(definition.Id, definition.Version)!;
        }
        finally
        {
            _saving.Release();
        }
    }

    /// <summary>An asset was saved: its tags' type and attributes are known at once (other processes learn them within <see cref="LookupInterval"/>).</summary>
    public void AssetSaved(Asset asset)
    {
        foreach (var tag in asset.Tags)
        {
            if (!Epc.TryParseHex(tag, out var epc))
            {
                continue;
            }

            if (asset.Registered)
            {
                _profiles[epc] = new AssetProfile(asset.Type, asset.Attributes);
            }
            else
            {
                _profiles.TryRemove(epc, out _);
            }
        }
    }

    /// <summary>A zone was saved: its kind and capacity are known at once (its site's time zone at the next refresh).</summary>
    public void ZoneSaved(Zone zone)
    {
        _kinds[zone.Name] = zone.Kind;
        SetCapacity(zone);
    }

    /// <summary>The asset type and attributes of the asset <paramref name="epc"/> belongs to (null: unregistered).</summary>
    public AssetProfile? ProfileOf(Epc epc) => _profiles.GetValueOrDefault(epc);

    /// <summary>The capacity of <paramref name="zone"/> (null: none set).</summary>
    public int? CapacityOf(string zone) => _capacities.TryGetValue(zone, out var c) ? c : null;

    /// <summary>How often asset profiles, zone kinds and sites' time zones are read again from the database.</summary>
    public static TimeSpan LookupInterval => PollInterval * 15;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_poll is { } poll)
        {
            await poll;
        }

        _stop.Dispose();
        _saving.Dispose();
    }

    private string? KindOf(string zone) => _kinds.GetValueOrDefault(zone);

    private void SetCapacity(Zone zone)
    {
        if (zone.Capacity is { } c)
        {
            _capacities[zone.Name] = c;
        }
        else
        {
            _capacities.TryRemove(zone.Name, out _);
        }
    }

    private TimeZoneInfo? TimeZoneOf(string zone) => _zoneTimes.GetValueOrDefault(zone);

    private static long Effective(long? effectiveUs)
    {
        var now = EventTimes.NowUs();
        var effective = effectiveUs ?? (now + (long)EffectiveDelay.TotalMicroseconds);
        return effective >= now
            ? effective
            : throw new DefinitionException([new DefinitionError(1, "effective", "a new version cannot take effect in the past: events already processed ran the old one")]);
    }

    /// <summary>Every <c>*.json</c> of <paramref name="folder"/> read by <paramref name="read"/>, in name order; an invalid file's errors name it.</summary>
    private static async Task<List<(string File, string Body, T Definition)>> ReadFolderAsync<T>(string? folder, Func<string, T> read, CancellationToken ct)
    {
        var files = new List<(string, string, T)>();
        foreach (var file in folder is null ? [] : Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal).ToArray())
        {
            var body = await File.ReadAllTextAsync(file, ct);
            try
            {
                files.Add((file, body, read(body)));
            }
            catch (DefinitionException ex)
            {
                throw new DefinitionException([.. ex.Errors.Select(e => e with { Message = $"{Path.GetFileName(file)}: {e.Message}" })]);
            }
        }

        return files;
    }

    private void WarnIfDiffers(string file, string id, int version, string body, string stored)
    {
        if (stored != body)
        {
            LogFileDiffers(log, file, id, version);
        }
    }

    private async Task<RuleCatalog> StoreRuleAsync(RuleCatalog rules, RuleDefinition rule, string body, long effective, string savedBy, CancellationToken ct)
    {
        var next = rules.With(rule, effective);
        if (!await store.SaveRuleAsync(new StoredRule(rule.Id, rule.Version, rule.Enabled, effective, body, EventTimes.NowUs(), savedBy), ct))
        {
            throw new DefinitionException([new DefinitionError(1, "version", $"version {rule.Version} of rule '{rule.Id}' is already stored; give a newer version")]);
        }

        LogRuleSaved(log, rule.Id, rule.Version, rule.Enabled ? "stored" : "removal stored", EventTimes.ToIso(effective), savedBy);
        return next;
    }

    private RuleCatalog Add(RuleCatalog rules, IEnumerable<StoredRule> stored)
    {
        foreach (var s in stored)
        {
            if (rules.Get(s.Id, s.Version) is not null)
            {
                continue;
            }

            try
            {
                rules = rules.With(RuleReader.Read(s.Body), s.EffectiveUs);
            }
            catch (DefinitionException ex)
            {
                LogStoredRefused(log, "Rule", s.Id, s.Version, ex.Message);
            }
        }

        return rules;
    }

    private async Task<WorkflowCatalog> StoreAsync(WorkflowCatalog catalog, WorkflowDefinition definition, string body, long effective, string savedBy, CancellationToken ct)
    {
        // Validated against the running set first: a refused version is never stored.
        var next = catalog.With(definition, effective);
        if (!await store.SaveWorkflowAsync(new StoredWorkflow(definition.Id, definition.Version, definition.AssetType, effective, body, EventTimes.NowUs(), savedBy), ct))
        {
            throw new DefinitionException([new DefinitionError(1, "version", $"version {definition.Version} of '{definition.Id}' is already stored; give a newer version")]);
        }

        LogSaved(log, definition.Id, definition.Version, EventTimes.ToIso(effective), savedBy);
        return next;
    }

    private WorkflowCatalog Add(WorkflowCatalog catalog, IEnumerable<StoredWorkflow> stored)
    {
        foreach (var s in stored)
        {
            if (catalog.Get(s.Id, s.Version) is not null)
            {
                continue;
            }

            try
            {
                catalog = catalog.With(WorkflowReader.Read(s.Body), s.EffectiveUs);
            }
            catch (DefinitionException ex)
            {
                // A stored version this build cannot read (written by a newer one): the others still run.
                LogStoredRefused(log, "Workflow", s.Id, s.Version, ex.Message);
            }
        }

        return catalog;
    }

    private async Task RefreshLookupsAsync(CancellationToken ct)
    {
        var profiles = new Dictionary<Epc, AssetProfile>();
        foreach (var (tag, profile) in await store.AssetProfilesAsync(ct))
        {
            if (Epc.TryParseHex(tag, out var epc))
            {
                profiles[epc] = _profiles[epc] = profile;
            }
        }

        foreach (var gone in _profiles.Keys.Where(k => !profiles.ContainsKey(k)).ToList())
        {
            _profiles.TryRemove(gone, out _);
        }

        var siteTimes = new Dictionary<string, TimeZoneInfo>(StringComparer.Ordinal);
        foreach (var site in await tracking.ListSitesAsync(ct))
        {
            if (site.TimeZone is { } tz && TimeZoneInfo.TryFindSystemTimeZoneById(tz, out var info))
            {
                siteTimes[site.Id] = info;
            }
        }

        foreach (var z in await tracking.ListZonesAsync(null, ct))
        {
            _kinds[z.Zone.Name] = z.Zone.Kind;
            SetCapacity(z.Zone);
            if (siteTimes.TryGetValue(z.Zone.SiteId, out var info))
            {
                _zoneTimes[z.Zone.Name] = info;
            }
            else
            {
                _zoneTimes.TryRemove(z.Zone.Name, out _);
            }
        }
    }

    private async Task PollAsync()
    {
        using var timer = new PeriodicTimer(PollInterval);
        var rounds = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    await _saving.WaitAsync(_stop.Token);
                    try
                    {
                        Workflows.Catalog = Add(Workflows.Catalog, await store.ListWorkflowsAsync(_stop.Token));
                        Rules.Catalog = Add(Rules.Catalog, await store.ListRulesAsync(_stop.Token));
                    }
                    finally
                    {
                        _saving.Release();
                    }

                    if (++rounds % (int)(LookupInterval / PollInterval) == 0)
                    {
                        await RefreshLookupsAsync(_stop.Token);
                    }
                }
                catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
                {
                    LogPollFailed(log, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 8201, Level = LogLevel.Information, Message = "Workflows: {Count} versions in force ({Latest})")]
    private static partial void LogLoaded(ILogger logger, int count, string latest);

    [LoggerMessage(EventId = 8202, Level = LogLevel.Information, Message = "Workflow {Id} version {Version} stored, in effect from {Effective}, by {By}")]
    private static partial void LogSaved(ILogger logger, string id, int version, string effective, string by);

    [LoggerMessage(EventId = 8203, Level = LogLevel.Warning, Message = "Definition file {File} holds {Id} version {Version}, which is stored with other content; the stored one runs: give the file a new version to change it")]
    private static partial void LogFileDiffers(ILogger logger, string file, string id, int version);

    [LoggerMessage(EventId = 8204, Level = LogLevel.Error, Message = "{What} {Id} version {Version} is stored but not valid for this build and does not run: {Reason}")]
    private static partial void LogStoredRefused(ILogger logger, string what, string id, int version, string reason);

    [LoggerMessage(EventId = 8206, Level = LogLevel.Information, Message = "Rules: {Active} in force ({Versions} versions stored)")]
    private static partial void LogRulesLoaded(ILogger logger, int active, int versions);

    [LoggerMessage(EventId = 8207, Level = LogLevel.Information, Message = "Rule {Id} version {Version} {What}, in effect from {Effective}, by {By}")]
    private static partial void LogRuleSaved(ILogger logger, string id, int version, string what, string effective, string by);

    [LoggerMessage(EventId = 8205, Level = LogLevel.Warning, Message = "Reading workflows, rules, asset profiles or zones from the database failed; trying again shortly")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
