namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The commands scripts and installers run against a data folder: <c>db version</c>, <c>db migrate</c>,
/// <c>assets import FILE</c> (rows accepted and rejected, with line numbers), <c>assets export FILE</c> and
/// <c>workflows check FILE...</c>, each as its own process, with the exit codes the usage states.
/// </summary>
[Trait("Capability", "Tracking")]
public sealed class The_command_line_migrates_imports_exports_and_checks_workflows : IDisposable
{
    private readonly TempDirectory _dir = new("edgestream-cli-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Each_command_does_its_job_and_says_so()
    {
        var data = _dir.Path;
        Assert.Equal((0, "sqlite: schema version 0 (this build: 4)"), await RunAsync("db", "version", "--data-dir", data));
        Assert.Equal((0, "sqlite: schema version 0 → 4"), await RunAsync("db", "migrate", "--data-dir", data));
        Assert.Equal((0, "sqlite: schema version 4 → 4"), await RunAsync("db", "migrate", "--data-dir", data));

        var csv = Path.Combine(data, "assets.csv");
        await File.WriteAllTextAsync(csv, "id,name,type,owner,tags\nbed-1,Bed 1,bed,Ward 3,E28011606000020000000001\nbed-2,Bed 2,bed,Ward 3,NOTANEPC\n");
        var (code, output) = await RunAsync("assets", "import", csv, "--data-dir", data);
        Assert.Equal(1, code);
        Assert.StartsWith("accepted 1, rejected 1", output, StringComparison.Ordinal);
        Assert.Contains($"{csv}:3:", output, StringComparison.Ordinal);

        var export = Path.Combine(data, "export.csv");
        Assert.Equal(0, (await RunAsync("assets", "export", export, "--data-dir", data)).Code);
        var exported = await File.ReadAllLinesAsync(export);
        Assert.Contains(exported, l => l.StartsWith("bed-1,Bed 1,bed,", StringComparison.Ordinal) && l.Contains("E28011606000020000000001", StringComparison.Ordinal));
        Assert.DoesNotContain(exported, l => l.StartsWith("bed-2", StringComparison.Ordinal));

        var good = Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json");
        Assert.Equal((0, $"{good}: workflow hospital-patient version 1 for patient: 7 states, 8 transitions"), await RunAsync("workflows", "check", good));
        var bad = Path.Combine(data, "bad.json");
        await File.WriteAllTextAsync(bad, "{\n  \"id\": \"w\",\n  \"version\": 1,\n  \"assetType\": \"pump\",\n  \"initial\": \"nowhere\",\n  \"states\": { \"a\": {} },\n  \"transitions\": []\n}\n");
        (code, output) = await RunAsync("workflows", "check", good, bad);
        Assert.Equal(1, code);
        Assert.Contains($"{bad}:5: initial: 'nowhere' is not one of the states (a).", output, StringComparison.Ordinal);
        Assert.Equal(2, (await RunAsync("workflows", "check", Path.Combine(data, "missing.json"))).Code);

        var rule = Path.Combine(AppContext.BaseDirectory, "Examples", "equipment-exit.rule.json");
        Assert.Equal((0, $"{rule}: rule equipment-exit version 1: exitwithout for infusion-pump, critical"), await RunAsync("rules", "check", rule));
        var badRule = Path.Combine(data, "bad-rule.json");
        await File.WriteAllTextAsync(badRule, "{\n  \"id\": \"r\",\n  \"version\": 1,\n  \"pattern\": { \"dwell\": { \"zone\": \"dock\", \"longerThan\": \"forever\" } }\n}\n");
        (code, output) = await RunAsync("rules", "check", badRule);
        Assert.Equal(1, code);
        Assert.StartsWith($"{badRule}:4: pattern.dwell.longerThan: must be a duration", output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        await using var child = ChildProcess.StartDotnet("edgestream-cloud.dll", args);
        var code = await child.WaitForExitAsync(TimeSpan.FromMinutes(1));
        return (code, child.Output.Trim());
    }
}
