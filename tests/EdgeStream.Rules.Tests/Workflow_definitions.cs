using System.Text;
using System.Text.Json;
using EdgeStream.Rules.Definitions;

namespace EdgeStream.Rules.Tests;

/// <summary>
/// Workflow definitions are JSON files: the shipped hospital flow reads as the issue describes it, and
/// a bad definition is refused whole with every problem named by line and field.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Workflow_definitions
{
    private static readonly string Hospital = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json"));

    [Fact]
    public void The_hospital_flow_reads_as_waiting_triage_exam_recovery_discharged()
    {
        var w = WorkflowReader.Read(Hospital);

        Assert.Equal(("hospital-patient", 1, "patient", "arrived"), (w.Id, w.Version, w.AssetType, w.Initial));
        Assert.Equal(["arrived", "waiting", "triage", "exam", "recovery", "discharged", "left-without-discharge"], w.States.Select(s => s.Name));
        Assert.Equal(["discharged", "left-without-discharge"], w.States.Where(s => s.Final).Select(s => s.Name));

        var waiting = Assert.Single(w.State("waiting")!.Alerts);
        Assert.Equal(("waiting-too-long", TimeSpan.FromMinutes(45), AlertSeverity.Warning, TimerClock.Event), (waiting.Id, waiting.After, waiting.Severity, waiting.Clock));
        Assert.Equal(TimeSpan.FromHours(2), Assert.Single(w.State("recovery")!.Alerts).After);

        var discharge = w.Transitions.Single(t => t.From.SequenceEqual(["recovery"]) && t.To == "discharged");
        Assert.Equal(new LeaveTrigger(new ZoneMatch("recovery", null), TimeSpan.FromMinutes(10), TimerClock.Event), discharge.On);
        Assert.Contains(w.Transitions, t => t.On == new EnterTrigger(new ZoneMatch(null, "exit")) && t.To == "left-without-discharge" && t.From.Count == 4);
        Assert.Contains(w.Transitions, t => t.On == new PeerEntersTrigger("clinician") && t.To == "exam");
        Assert.Contains(w.Transitions, t => t.On == new ManualTrigger("discharge") && t.From.SequenceEqual(["*"]));
    }

    [Fact]
    public void Every_mistake_is_named_by_its_line_and_field_and_nothing_is_returned()
    {
        const string json = """
            {
              "id": "ward",
              "version": 0,
              "assetType": "patient",
              "initial": "lobby",
              "states": {
                "waiting": { "alerts": [ { "id": "slow", "after": "45 minutes" } ] },
                "done": { "final": true },
                "Bad Name": {}
              },
              "transitions": [
                { "from": "waiting", "to": "recovry", "on": { "enter": { "zone": "triage" } } },
                { "from": "done", "to": "waiting", "on": { "manual": "reopen" } },
                { "from": "waiting", "to": "done", "on": { "enter": { "zone": "exit" }, "dwell": { "after": "5m" } } },
                { "from": "waiting", "to": "done", "on": { "leave": { "zone": "a", "kind": "exit" } }, "colour": "red" }
              ]
            }
            """;

        var ex = Assert.Throws<DefinitionException>(() => WorkflowReader.Read(json));
        var found = ex.Errors.Select(e => (e.Line, e.Path)).ToList();
        Assert.Contains((3, "version"), found);
        Assert.Contains((5, "initial"), found);
        Assert.Contains((7, "states.waiting.alerts[0].after"), found);
        Assert.Contains((9, "states.Bad Name"), found);
        Assert.Contains((12, "transitions[0].to"), found);
        Assert.Contains((13, "transitions[1].from"), found);
        Assert.Contains((14, "transitions[2].on"), found);
        Assert.Contains((15, "transitions[3].on.leave"), found);
        Assert.Contains((15, "transitions[3].colour"), found);
        Assert.Contains(ex.Errors, e => e.Path == "transitions[0].to" && e.Message.Contains("'recovry' is not one of the states (waiting, done, Bad Name)", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Path == "states.waiting.alerts[0].after" && e.Message.Contains("'45 minutes' is not", StringComparison.Ordinal));
        Assert.Contains("line 12, transitions[0].to:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_names_its_line()
    {
        var ex = Assert.Throws<DefinitionException>(() => WorkflowReader.Read("{\n  \"id\": \"a\",\n  \"version\": 1,,\n}"));
        var e = Assert.Single(ex.Errors);
        Assert.Equal(3, e.Line);
        Assert.StartsWith("not valid JSON", e.Message, StringComparison.Ordinal);

        Assert.Equal(2, Assert.Single(Assert.Throws<DefinitionException>(() => WorkflowReader.Read("{\"id\": \"a\",\n\"id\": \"b\"}")).Errors, x => x.Message == "given twice.").Line);
        Assert.Single(Assert.Throws<DefinitionException>(() => WorkflowReader.Read(string.Empty)).Errors);
        Assert.Single(Assert.Throws<DefinitionException>(() => WorkflowReader.Read("[]")).Errors);
    }

    [Theory]
    [InlineData("45m", 45 * 60)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("90s", 90)]
    [InlineData("1d", 86_400)]
    [InlineData("0m", -1)]
    [InlineData("", -1)]
    [InlineData("45", -1)]
    [InlineData("m", -1)]
    [InlineData("30m1h", -1)]
    [InlineData("366d", -1)]
    public void Durations_are_days_hours_minutes_and_seconds(string text, int seconds) =>
        Assert.Equal(seconds < 0 ? null : TimeSpan.FromSeconds(seconds), WorkflowReader.ParseDuration(text));

    [Fact]
    public void Mangled_definitions_are_refused_with_reasons_and_never_crash()
    {
        // Random byte edits, truncations and splices of the shipped flow: each either reads (an edit
        // inside a description) or is refused with at least one error naming a line in the file.
        var source = Encoding.UTF8.GetBytes(Hospital);
        var lines = Hospital.Count(c => c == '\n') + 1;
        var rng = new Random(29);
        var refused = 0;
        for (var i = 0; i < 3000; i++)
        {
            var b = source.ToList();
            for (var edits = rng.Next(1, 4); edits > 0; edits--)
            {
                var at = rng.Next(b.Count);
                switch (rng.Next(4))
                {
                    case 0: b[at] = (byte)rng.Next(256); break;
                    case 1: b.RemoveRange(at, Math.Min(rng.Next(1, 40), b.Count - at)); break;
                    case 2: b.InsertRange(at, source.AsSpan(rng.Next(source.Length - 30), 30).ToArray()); break;
                    default: b.RemoveRange(at, b.Count - at); break;
                }

                if (b.Count == 0)
                {
                    break;
                }
            }

            try
            {
                WorkflowReader.Read(b.ToArray());
            }
            catch (DefinitionException ex)
            {
                refused++;
                Assert.NotEmpty(ex.Errors);
                Assert.All(ex.Errors, e => Assert.InRange(e.Line, 1, lines + 100));
            }
        }

        Assert.True(refused > 2000, $"only {refused} of 3000 mangled files were refused");
    }

    [Fact]
    public void The_shipped_flow_validates_against_the_published_schema_and_the_schema_refuses_what_the_reader_refuses()
    {
        var schema = Json.Schema.JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "workflow.schema.json")));
        bool Valid(string json) => schema.Evaluate(JsonDocument.Parse(json).RootElement).IsValid;

        Assert.True(Valid(Hospital));

        // Mistakes a schema can see (the reader sees more: states named in transitions, final states left).
        string[] mistakes =
        [
            Hospital.Replace("\"version\": 1", "\"version\": 0", StringComparison.Ordinal),
            Hospital.Replace("\"after\": \"45m\"", "\"after\": \"45 minutes\"", StringComparison.Ordinal),
            Hospital.Replace("\"severity\": \"warning\"", "\"severity\": \"loud\"", StringComparison.Ordinal),
            Hospital.Replace("{ \"enter\": { \"zone\": \"triage\" } }", "{ \"enter\": { \"zone\": \"triage\" }, \"manual\": \"x\" }", StringComparison.Ordinal),
            Hospital.Replace("{ \"zone\": \"triage\" }", "{ \"zone\": \"triage\", \"kind\": \"room\" }", StringComparison.Ordinal),
            Hospital.Replace("\"assetType\": \"patient\"", "\"assetType\": \"patient\", \"colour\": \"red\"", StringComparison.Ordinal),
        ];
        foreach (var m in mistakes)
        {
            Assert.NotEqual(Hospital, m);
            Assert.False(Valid(m), "the schema accepted: " + m);
            Assert.Throws<DefinitionException>(() => WorkflowReader.Read(m));
        }
    }

    [Fact]
    public void The_published_schema_names_every_field_the_reader_takes()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "workflow.schema.json")));
        var defs = schema.RootElement.GetProperty("$defs");
        string[] Props(JsonElement e) => [.. e.GetProperty("properties").EnumerateObject().Select(p => p.Name)];

        Assert.Equal(["$schema", "id", "version", "assetType", "description", "initial", "states", "transitions"], Props(schema.RootElement));
        Assert.Equal(["final", "alerts", "description"], Props(defs.GetProperty("state")));
        Assert.Equal(["id", "after", "severity", "message", "clock"], Props(defs.GetProperty("alert")));
        Assert.Equal(["from", "to", "on", "description"], Props(defs.GetProperty("transition")));
        Assert.Equal(["enter", "leave", "dwell", "manual", "peerEnters"], Props(defs.GetProperty("trigger")));
    }
}
