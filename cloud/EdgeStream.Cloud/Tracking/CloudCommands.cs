using EdgeStream.Contracts;
using EdgeStream.Rules.Definitions;
using EdgeStream.Tracking.Registry;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Storage.Postgres;
using EdgeStream.Tracking.Storage.Sqlite;

namespace EdgeStream.Cloud.Tracking;

/// <summary>
/// The service's maintenance commands, run against the configured database without starting the service:
/// <c>db migrate</c>, <c>db version</c>, <c>assets import FILE</c>, <c>assets export [FILE]</c>. They take the
/// same settings as the service (<c>--data-dir</c>, <c>--Tracking:Database</c>, environment, …).
/// </summary>
public static class CloudCommands
{
    private const string Usage =
        "usage: edgestream-cloud db migrate|version [--data-dir DIR] [--Tracking:Database sqlite|postgres --Tracking:ConnectionString CS]\n" +
        "       edgestream-cloud assets import FILE.csv [settings]\n" +
        "       edgestream-cloud workflows check FILE.json...\n" +
        "       edgestream-cloud rules check FILE.json...\n" +
        "       edgestream-cloud assets export [FILE.csv] [settings]";

    /// <summary>Opens the configured store (not migrated).</summary>
    public static ITrackingStore OpenStore(TrackingSettings settings) => settings.Database switch
    {
        "postgres" => PostgresTrackingStore.Open(settings.ConnectionString),
        _ => SqliteTrackingStore.Open(settings.ConnectionString),
    };

    /// <summary>
    /// Validates definitions (<paramref name="what"/>: workflows or rules): one line per file that reads, one
    /// <c>FILE:LINE: field: problem</c> per mistake; exit 1 when any is invalid, 2 for a missing file.
    /// </summary>
    private static async Task<int> CheckAsync(string what, string[] files, Func<byte[], string> read)
    {
        var invalid = 0;
        foreach (var file in files)
        {
            if (!File.Exists(file))
            {
                await Console.Error.WriteLineAsync($"edgestream-cloud: {what} check: no file '{file}'");
                return 2;
            }

            try
            {
                await Console.Out.WriteLineAsync($"{file}: {read(await File.ReadAllBytesAsync(file))}");
            }
            catch (DefinitionException ex)
            {
                invalid++;
                foreach (var e in ex.Errors)
                {
                    await Console.Out.WriteLineAsync(e.Path.Length == 0 ? $"{file}:{e.Line}: {e.Message}" : $"{file}:{e.Line}: {e.Path}: {e.Message}");
                }
            }
        }

        return invalid == 0 ? 0 : 1;
    }

    private static string DescribeWorkflow(byte[] body)
    {
        var w = WorkflowReader.Read(body);
        return $"workflow {w.Id} version {w.Version} for {w.AssetType}: {w.States.Count} states, {w.Transitions.Count} transitions";
    }

    private static string DescribeRule(byte[] body)
    {
        var r = RuleReader.Read(body);
        return !r.Enabled
            ? $"rule {r.Id} version {r.Version}: removes the rule"
            : $"rule {r.Id} version {r.Version}: {r.Pattern!.GetType().Name.Replace("Pattern", string.Empty, StringComparison.Ordinal).ToLowerInvariant()} for {r.Assets.Type ?? "any asset"}, {r.Severity.ToString().ToLowerInvariant()}";
    }

    /// <summary>Runs a command; returns the exit code (2 for usage or configuration errors).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var words = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        var settings = args[words.Length..];
        if (words is ["workflows", "check", .. var files] && files.Length > 0)
        {
            return await CheckAsync("workflows", files, DescribeWorkflow);
        }

        if (words is ["rules", "check", .. var ruleFiles] && ruleFiles.Length > 0)
        {
            return await CheckAsync("rules", ruleFiles, DescribeRule);
        }

        CloudOptions options;
        try
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables("EDGESTREAM_CLOUD_").AddCommandLine(settings).Build();
            options = CloudOptions.From(configuration);
        }
        catch (OptionsException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: {ex.Message}");
            return 2;
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: {ex.Message}\n{Usage}");
            return 2;
        }

        ITrackingStore store;
        try
        {
            store = OpenStore(options.Tracking);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: Tracking:ConnectionString is invalid: {ex.Message}");
            return 2;
        }

        await using (store)
        {
            try
            {
                switch (words)
                {
                    case ["db", "migrate"]:
                        var before = await store.SchemaVersionAsync(CancellationToken.None);
                        var after = await store.MigrateAsync(CancellationToken.None);
                        await Console.Out.WriteLineAsync($"{store.Provider}: schema version {before} → {after}");
                        return 0;
                    case ["db", "version"]:
                        await Console.Out.WriteLineAsync($"{store.Provider}: schema version {await store.SchemaVersionAsync(CancellationToken.None)} (this build: {EdgeStream.Tracking.Storage.Sql.SqlTrackingStore.LatestSchemaVersion})");
                        return 0;
                    case ["assets", "import", var file]:
                        if (!File.Exists(file))
                        {
                            await Console.Error.WriteLineAsync($"edgestream-cloud: assets import: no file '{file}'");
                            return 2;
                        }

                        await store.MigrateAsync(CancellationToken.None);
                        using (var reader = new StreamReader(file))
                        {
                            var result = await AssetCsv.ImportAsync(reader, store, EventTimes.NowUs(), CancellationToken.None);
                            await Console.Out.WriteLineAsync($"accepted {result.Accepted}, rejected {result.Rejected.Count}");
                            foreach (var r in result.Rejected)
                            {
                                await Console.Out.WriteLineAsync($"{file}:{r.Line}: {r.Reason}");
                            }

                            return result.Rejected.Count == 0 ? 0 : 1;
                        }

                    case ["assets", "export"]:
                    case ["assets", "export", _]:
                        await store.MigrateAsync(CancellationToken.None);
                        await using (var writer = words.Length == 3 ? new StreamWriter(words[2]) : new StreamWriter(Console.OpenStandardOutput()))
                        {
                            await AssetCsv.ExportAsync(store, writer, CancellationToken.None);
                        }

                        return 0;
                    default:
                        await Console.Error.WriteLineAsync(Usage);
                        return 2;
                }
            }
            catch (System.Data.Common.DbException ex)
            {
                await Console.Error.WriteLineAsync($"edgestream-cloud: the {store.Provider} database: {ex.Message}");
                return 1;
            }
        }
    }
}
