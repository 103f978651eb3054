using System.Collections.Concurrent;
using System.Text;
using EdgeStream.Contracts;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Workflows;

namespace EdgeStream.Cloud.Tracking;

/// <summary>
/// The service's workflows: every stored version (the database is the record), the definition files
/// of <see cref="TrackingSettings.WorkflowsFolder"/> stored at start when their version is new, and the
/// lookups the job needs (which type an EPC's asset is, what kind a zone is). New versions come through
/// <see cref="SaveAsync"/> (the API) or, on a worker in another process, from the database within
/// <see cref="PollInterval"/>; either way they take effect from their effective time, which is
/// <see cref="EffectiveDelay"/> after saving so that every worker has them before any event of that time exists.
/// </summary>
public sealed partial class WorkflowDirectory(ITrackingStore tracking, IWorkflowStore store, ILogger<WorkflowDirectory> log) : IAsyncDisposable
{
    /// <summary>How often a worker looks for versions saved by another process, and refreshes asset types and zone kinds.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long after saving a version takes effect by default (longer than <see cref="PollInterval"/>).</summary>
    public static readonly TimeSpan EffectiveDelay = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, string> _types = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _kinds = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _saving = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private TagWorkflows? _workflows;
    private Task? _poll;

    /// <summary>The workflows the tracking job runs (after <see cref="StartAsync"/>).</summary>
    public TagWorkflows Workflows => _workflows ?? throw new InvalidOperationException("The workflow directory is not started.");

    /// <summary>Loads stored versions and the folder's files, and starts polling.</summary>
    /// <exception cref="DefinitionException">A file is not a valid definition, or its version conflicts with the stored ones (the message names the file).</exception>
    public async Task StartAsync(string? folder, CancellationToken cancellationToken)
    {
        await RefreshLookupsAsync(cancellationToken);
        var catalog = WorkflowCatalog.Empty(KindOf);
        var stored = await store.ListWorkflowsAsync(cancellationToken);
        catalog = Add(catalog, stored);
        foreach (var file in folder is null ? [] : Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal).ToArray())
        {
            var body = await File.ReadAllTextAsync(file, cancellationToken);
            WorkflowDefinition definition;
            try
            {
                definition = WorkflowReader.Read(body);
            }
            catch (DefinitionException ex)
            {
                throw new DefinitionException([.. ex.Errors.Select(e => e with { Message = $"{Path.GetFileName(file)}: {e.Message}" })]);
            }

            if (catalog.Get(definition.Id, definition.Version) is not null)
            {
                if (stored.First(s => s.Id == definition.Id && s.Version == definition.Version).Body != body)
                {
                    LogFileDiffers(log, file, definition.Id, definition.Version);
                }

                continue;
            }

            catalog = await StoreAsync(catalog, definition, body, EventTimes.NowUs(), "file " + Path.GetFileName(file), cancellationToken);
        }

        _workflows = new TagWorkflows(catalog, epc => _types.GetValueOrDefault(epc.ToString()));
        _poll = Task.Run(PollAsync);
        LogLoaded(log, catalog.Versions.Count(), string.Join(", ", catalog.Versions.GroupBy(v => v.Definition.Id).Select(g => $"{g.Key} v{g.Last().Definition.Version}")));
    }

    /// <summary>Validates and stores a new version, and puts it in force from <paramref name="effectiveUs"/> (default: <see cref="EffectiveDelay"/> from now).</summary>
    /// <exception cref="DefinitionException">Invalid, or the version is taken or not newer: the running set is unchanged.</exception>
    public async Task<WorkflowVersion> SaveAsync(string body, string savedBy, long? effectiveUs, CancellationToken cancellationToken)
    {
        var definition = WorkflowReader.Read(Encoding.UTF8.GetBytes(body));
        var now = EventTimes.NowUs();
        var effective = effectiveUs ?? (now + (long)EffectiveDelay.TotalMicroseconds);
        if (effective < now)
        {
            throw new DefinitionException([new DefinitionError(1, "effective", "a new version cannot take effect in the past: events already processed ran the old one")]);
        }

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

    /// <summary>An asset was saved: its tags' type is known at once (other processes learn it within <see cref="PollInterval"/>).</summary>
    public void AssetSaved(Asset asset)
    {
        foreach (var tag in asset.Tags)
        {
            if (asset.Type is { } type)
            {
                _types[tag] = type;
            }
            else
            {
                _types.TryRemove(tag, out _);
            }
        }
    }

    /// <summary>A zone was saved: its kind is known at once.</summary>
    public void ZoneSaved(Zone zone) => _kinds[zone.Name] = zone.Kind;

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
                LogStoredRefused(log, s.Id, s.Version, ex.Message);
            }
        }

        return catalog;
    }

    private async Task RefreshLookupsAsync(CancellationToken ct)
    {
        var types = await store.AssetTypesAsync(ct);
        foreach (var (epc, type) in types)
        {
            _types[epc] = type;
        }

        foreach (var gone in _types.Keys.Where(k => !types.ContainsKey(k)).ToList())
        {
            _types.TryRemove(gone, out _);
        }

        foreach (var z in await tracking.ListZonesAsync(null, ct))
        {
            _kinds[z.Zone.Name] = z.Zone.Kind;
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
                    }
                    finally
                    {
                        _saving.Release();
                    }

                    if (++rounds % 15 == 0)
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

    [LoggerMessage(EventId = 8203, Level = LogLevel.Warning, Message = "Workflow file {File} holds {Id} version {Version}, which is stored with other content; the stored one runs: give the file a new version to change it")]
    private static partial void LogFileDiffers(ILogger logger, string file, string id, int version);

    [LoggerMessage(EventId = 8204, Level = LogLevel.Error, Message = "Stored workflow {Id} version {Version} is not valid for this build and does not run: {Reason}")]
    private static partial void LogStoredRefused(ILogger logger, string id, int version, string reason);

    [LoggerMessage(EventId = 8205, Level = LogLevel.Warning, Message = "Reading workflows, asset types or zone kinds from the database failed; trying again shortly")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
