using System.Text.RegularExpressions;

namespace EdgeStream.Architecture.Tests;

/// <summary>
/// What each part of the product may reference, as docs/architecture.md states it. Each rule returns the
/// violations it finds, one line each, naming the project and the reference that breaks it.
/// </summary>
public static partial class LayoutRules
{
    private static readonly string[] SqlPackages = ["Npgsql", "Microsoft.Data.Sqlite", "Microsoft.EntityFrameworkCore", "Dapper", "System.Data.SqlClient", "Microsoft.Data.SqlClient"];

    /// <summary>The engine and its sources, sinks and checkpoint stores name no RFID concept: no RFID project, and no tag, EPC, reader or antenna in their code.</summary>
    public static IEnumerable<string> EngineKnowsNoRfid(ProductProjects projects, Func<ProductProject, IEnumerable<(string File, string Code)>> sources)
    {
        foreach (var engine in projects.ByName.Values.Where(p => IsEngine(p.Name)))
        {
            foreach (var reference in engine.Projects.Where(r => !IsEngine(r) && r != "EdgeStream.EventLog"))
            {
                yield return $"{engine.Name} references {reference}: the engine may reference only engine projects and, for a source, the event log.";
            }

            foreach (var (file, code) in sources(engine))
            {
                foreach (Match m in RfidWord().Matches(WithoutComments(code)))
                {
                    yield return $"{file} names '{m.Value}': the engine names no RFID concept.";
                }
            }
        }
    }

    /// <summary>Tracking knows no HTTP and no SQL: not a web project, no ASP.NET Core, no database driver, no storage provider.</summary>
    public static IEnumerable<string> TrackingKnowsNoHttpOrSql(ProductProjects projects, Func<ProductProject, IEnumerable<(string File, string Code)>> sources) =>
        KnowsNoHttpOrSql("EdgeStream.Tracking", "tracking", projects, sources);

    /// <summary>Workflows and rules, like tracking, know no HTTP and no SQL: they run on the engine and write through a contract.</summary>
    public static IEnumerable<string> RulesKnowNoHttpOrSql(ProductProjects projects, Func<ProductProject, IEnumerable<(string File, string Code)>> sources) =>
        KnowsNoHttpOrSql("EdgeStream.Rules", "rules", projects, sources);

    private static IEnumerable<string> KnowsNoHttpOrSql(string name, string what, ProductProjects projects, Func<ProductProject, IEnumerable<(string File, string Code)>> sources)
    {
        if (!projects.ByName.TryGetValue(name, out var project))
        {
            yield return $"{name} is missing.";
            yield break;
        }

        if (project.Sdk.Contains("Web", StringComparison.Ordinal))
        {
            yield return $"{name} uses the {project.Sdk} SDK.";
        }

        foreach (var f in project.Frameworks.Where(f => f.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)))
        {
            yield return $"{name} references the framework {f}.";
        }

        foreach (var p in project.Packages.Where(p => p.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || SqlPackages.Any(s => p.StartsWith(s, StringComparison.Ordinal))))
        {
            yield return $"{name} references the package {p}.";
        }

        foreach (var r in projects.Reaches(project.Name).Where(r => r.StartsWith("EdgeStream.Tracking.Storage", StringComparison.Ordinal) || r is "EdgeStream.Cloud" or "EdgeStream.Ingest"))
        {
            yield return $"{name} reaches {r}.";
        }

        foreach (var (file, code) in sources(project))
        {
            foreach (Match m in HttpOrSqlNamespace().Matches(WithoutComments(code)))
            {
                yield return $"{file} uses {m.Value}: {what} knows no HTTP or SQL.";
            }
        }
    }

    /// <summary>Ingest knows nothing of tracking or of the stream engine: it validates and appends to the log.</summary>
    public static IEnumerable<string> IngestKnowsNoTracking(ProductProjects projects) =>
        projects.Reaches("EdgeStream.Ingest")
            .Where(r => r.StartsWith("EdgeStream.Tracking", StringComparison.Ordinal) || IsEngine(r) || r == "EdgeStream.Cloud")
            .Select(r => $"EdgeStream.Ingest reaches {r}: ingest knows nothing of tracking or the engine.");

    /// <summary>Edge and cloud share only shared/: no edge project reaches a cloud project, and no cloud project an edge one.</summary>
    public static IEnumerable<string> EdgeAndCloudShareOnlySharedProjects(ProductProjects projects)
    {
        foreach (var project in projects.ByName.Values.Where(p => p.Folder is "edge" or "cloud"))
        {
            var other = project.Folder == "edge" ? "cloud" : "edge";
            foreach (var r in projects.Reaches(project.Name).Where(r => projects.ByName.TryGetValue(r, out var t) && t.Folder == other))
            {
                yield return $"{project.Name} ({project.Folder}) reaches {r} ({other}).";
            }
        }
    }

    /// <summary>The wire contracts depend on nothing of the product, so both sides can take them.</summary>
    public static IEnumerable<string> ContractsStandAlone(ProductProjects projects) =>
        projects.ByName.TryGetValue("EdgeStream.Contracts", out var contracts)
            ? contracts.Projects.Select(r => $"EdgeStream.Contracts references {r}.")
            : ["EdgeStream.Contracts is missing."];

    /// <summary>Storage providers are chosen by the service alone: only EdgeStream.Cloud references one.</summary>
    public static IEnumerable<string> OnlyTheServiceChoosesAStore(ProductProjects projects) =>
        from p in projects.ByName.Values
        where p.Name != "EdgeStream.Cloud" && !p.Name.StartsWith("EdgeStream.Tracking.Storage", StringComparison.Ordinal)
        from r in p.Projects
        where r.StartsWith("EdgeStream.Tracking.Storage", StringComparison.Ordinal) || r == "EdgeStream.Engine.Checkpoints.Postgres"
        select $"{p.Name} references {r}: only the service picks a storage provider.";

    /// <summary>Code without its comments: a comment may say what the code must not know.</summary>
    public static string WithoutComments(string code) => Comment().Replace(code, string.Empty);

    private static bool IsEngine(string name) => name == "EdgeStream.Engine" || name.StartsWith("EdgeStream.Engine.", StringComparison.Ordinal);

    [GeneratedRegex(@"//.*?$|/\*.*?\*/", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"\b\w*(?:Epc|EPC|Rfid|RFID|Antenna|Llrp|LLRP|TagRead|ReaderId)\w*\b")]
    private static partial Regex RfidWord();

    [GeneratedRegex(@"\b(?:Microsoft\.AspNetCore|System\.Net\.Http|System\.Data|Npgsql|Microsoft\.Data\.Sqlite)\b")]
    private static partial Regex HttpOrSqlNamespace();
}
