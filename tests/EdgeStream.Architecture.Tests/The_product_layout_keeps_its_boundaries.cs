namespace EdgeStream.Architecture.Tests;

/// <summary>The project references and sources on disk keep the boundaries docs/architecture.md draws.</summary>
[Trait("Capability", "Architecture")]
public sealed class The_product_layout_keeps_its_boundaries
{
    private static readonly string Root = ProductProjects.RepositoryRoot();
    private static readonly ProductProjects Projects = ProductProjects.Load(Root);

    private static IEnumerable<(string File, string Code)> Sources(ProductProject p) => ProductProjects.Sources(Root, p);

    [Fact]
    public void Every_product_project_is_read()
    {
        // The rules below mean something only if they see the projects they speak of.
        foreach (var name in new[] { "EdgeStream.Contracts", "EdgeStream.Engine", "EdgeStream.Engine.Sources.EventLog", "EdgeStream.Engine.Sinks.Kafka", "EdgeStream.Tracking", "EdgeStream.Rules", "EdgeStream.Ingest", "EdgeStream.Cloud", "EdgeStream.Edge", "EdgeStream.Uplink.Mqtt", "EdgeStream.Gateways" })
        {
            Assert.True(Projects.ByName.ContainsKey(name), $"{name} not found under {Root}");
        }

        Assert.Contains("EdgeStream.Engine", Projects.Reaches("EdgeStream.Cloud"));
    }

    [Fact]
    public void The_engine_names_no_rfid_concept() => Assert.Empty(LayoutRules.EngineKnowsNoRfid(Projects, Sources));

    [Fact]
    public void Tracking_knows_no_http_or_sql() => Assert.Empty(LayoutRules.TrackingKnowsNoHttpOrSql(Projects, Sources));

    [Fact]
    public void Rules_know_no_http_or_sql() => Assert.Empty(LayoutRules.RulesKnowNoHttpOrSql(Projects, Sources));

    [Fact]
    public void Ingest_knows_nothing_of_tracking() => Assert.Empty(LayoutRules.IngestKnowsNoTracking(Projects));

    [Fact]
    public void Edge_and_cloud_share_only_the_shared_projects() => Assert.Empty(LayoutRules.EdgeAndCloudShareOnlySharedProjects(Projects));

    [Fact]
    public void The_wire_contracts_stand_alone() => Assert.Empty(LayoutRules.ContractsStandAlone(Projects));

    [Fact]
    public void Only_the_service_chooses_a_storage_provider() => Assert.Empty(LayoutRules.OnlyTheServiceChoosesAStore(Projects));

    [Fact]
    public void Each_rule_reports_a_forbidden_reference_when_one_appears()
    {
        // The same rules over a layout that breaks each of them once.
        static ProductProject P(string name, string folder, string[]? projects = null, string[]? packages = null, string sdk = "Microsoft.NET.Sdk") =>
            new(name, folder, sdk, (projects ?? []).ToHashSet(), (packages ?? []).ToHashSet(), new HashSet<string>());
        var broken = new ProductProjects(
        [
            P("EdgeStream.Contracts", "shared", ["EdgeStream.Engine"]),
            P("EdgeStream.Engine", "cloud", ["EdgeStream.Readers"]),
            P("EdgeStream.Readers", "edge", ["EdgeStream.Ingest"]),
            P("EdgeStream.Ingest", "cloud", ["EdgeStream.Tracking"]),
            P("EdgeStream.Tracking", "cloud", ["EdgeStream.Tracking.Storage.Sqlite"], ["Npgsql"], "Microsoft.NET.Sdk.Web"),
            P("EdgeStream.Tracking.Storage.Sqlite", "cloud"),
        ]);
        IEnumerable<(string, string)> Code(ProductProject p) => p.Name switch
        {
            "EdgeStream.Engine" => [("Engine.cs", "public sealed class EpcTable { } // a comment about an Antenna is fine")],
            "EdgeStream.Tracking" => [("Tracking.cs", "using Microsoft.AspNetCore.Http;")],
            _ => [],
        };

        var engine = LayoutRules.EngineKnowsNoRfid(broken, Code).ToList();
        Assert.Contains(engine, v => v.Contains("references EdgeStream.Readers", StringComparison.Ordinal));
        Assert.Contains(engine, v => v.Contains("'EpcTable'", StringComparison.Ordinal));
        Assert.DoesNotContain(engine, v => v.Contains("Antenna", StringComparison.Ordinal));

        var tracking = LayoutRules.TrackingKnowsNoHttpOrSql(broken, Code).ToList();
        Assert.Contains(tracking, v => v.Contains("SDK", StringComparison.Ordinal));
        Assert.Contains(tracking, v => v.Contains("package Npgsql", StringComparison.Ordinal));
        Assert.Contains(tracking, v => v.Contains("reaches EdgeStream.Tracking.Storage.Sqlite", StringComparison.Ordinal));
        Assert.Contains(tracking, v => v.Contains("Microsoft.AspNetCore", StringComparison.Ordinal));

        Assert.Contains(LayoutRules.IngestKnowsNoTracking(broken), v => v.Contains("reaches EdgeStream.Tracking", StringComparison.Ordinal));
        Assert.Contains(LayoutRules.EdgeAndCloudShareOnlySharedProjects(broken), v => v.StartsWith("EdgeStream.Readers (edge) reaches EdgeStream.Ingest", StringComparison.Ordinal));
        Assert.Single(LayoutRules.ContractsStandAlone(broken));
        Assert.Single(LayoutRules.OnlyTheServiceChoosesAStore(broken));
    }
}
