using System.Text;
using System.Text.Json;
using EdgeStream.Rules.Definitions;

namespace EdgeStream.Rules.Tests;

/// <summary>
/// Rule definitions are JSON files like workflows: the shipped examples read as their descriptions say,
/// and a bad rule is refused whole with every problem named by line and field.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Rule_definitions
{
    private static readonly string ExitRule = Example("equipment-exit.rule.json");
    private static readonly string DockRule = Example("dock-dwell.rule.json");
    private static readonly string CrowdedRule = Example("waiting-room-crowded.rule.json");

    [Fact]
    public void The_equipment_exit_and_warehouse_dwell_examples_read_as_described()
    {
        var exit = RuleReader.Read(ExitRule);
        Assert.Equal(("equipment-exit", 1, true, AlertSeverity.Critical, "infusion-pump"), (exit.Id, exit.Version, exit.Enabled, exit.Severity, exit.Assets.Type));
        var p = Assert.IsType<ExitWithoutPattern>(exit.Pattern);
        Assert.Equal(new ZoneMatch(null, "exit"), p.Exit);
        Assert.Equal([new RuleStep(RuleStepKind.Action, null, "checkout"), new RuleStep(RuleStepKind.Enter, new ZoneMatch("checkout-desk", null), null)], p.AuthorisedBy);
        Assert.Equal(TimeSpan.FromMinutes(10), p.Within);
        Assert.Equal("rule:equipment-exit", exit.AlertRuleId);

        var dock = RuleReader.Read(DockRule);
        Assert.Equal(new DwellPattern(new ZoneMatch(null, "dock"), TimeSpan.FromHours(2)), dock.Pattern);
        Assert.Equal(TimerClock.Processing, dock.Clock);
        Assert.Equal("chilled", dock.Assets.Attributes["temperature"]);
        var calendar = dock.Calendar!;
        Assert.Null(calendar.TimeZone);
        Assert.Equal([DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday], calendar.Days.Order());
        Assert.Equal((new TimeOnly(6, 0), new TimeOnly(22, 0)), (calendar.From, calendar.To));

        var crowded = RuleReader.Read(CrowdedRule);
        Assert.Equal((new CountPattern(new ZoneMatch(null, "waiting-room"), 12), "patient"), (crowded.Pattern, crowded.Assets.Type));
    }

    [Fact]
    public void Every_pattern_reads_and_a_removal_needs_no_pattern()
    {
        Assert.Equal(new EntersPattern(new ZoneMatch("icu", null)), Pattern("""{"enters": {"zone": "icu"}}"""));
        Assert.Equal(new LeavesPattern(new ZoneMatch(null, "ward")), Pattern("""{"leaves": {"kind": "ward"}}"""));
        Assert.Equal(new AbsentPattern(new ZoneMatch("crash-bay", null), TimeSpan.FromMinutes(10)), Pattern("""{"absent": {"zone": "crash-bay", "for": "10m"}}"""));
        Assert.Equal(new MissingPattern(TimeSpan.FromDays(1)), Pattern("""{"missing": {"for": "1d"}}"""));
        var a = new RuleStep(RuleStepKind.Leave, new ZoneMatch("isolation", null), null);
        var b = new RuleStep(RuleStepKind.Action, null, "cleaned");
        Assert.Equal(new FollowedByPattern(a, b, TimeSpan.FromSeconds(90)), Pattern("""{"followedBy": {"first": {"leave": {"zone": "isolation"}}, "then": {"action": "cleaned"}, "within": "90s"}}"""));
        Assert.Equal(new NotFollowedByPattern(a, b, TimeSpan.FromMinutes(30)), Pattern("""{"notFollowedBy": {"first": {"leave": {"zone": "isolation"}}, "then": {"action": "cleaned"}, "within": "30m"}}"""));

        var removal = RuleReader.Read(RuleReader.Removal("dock-dwell", 4));
        Assert.Equal(("dock-dwell", 4, false, null), (removal.Id, removal.Version, removal.Enabled, removal.Pattern));
        var error = Assert.Single(Assert.Throws<DefinitionException>(() => RuleReader.Read("""{"id": "x", "version": 1}""")).Errors);
        Assert.Equal("pattern", error.Path);
    }

    [Fact]
    public void Every_mistake_is_named_by_its_line_and_field_and_nothing_is_returned()
    {
        const string json = """
            {
              "id": "Pump Exit",
              "version": 0,
              "severity": "loud",
              "colour": "red",
              "assets": { "type": "pump", "attributes": { "ward": 3 } },
              "calendar": { "timeZone": "Mars/Olympus", "days": ["mon", "someday"], "from": "8am" },
              "clock": "sundial",
              "pattern": {
                "exitWithout": { "exit": { "zone": "a", "kind": "exit" }, "authorisedBy": [ { "action": "Check Out" }, { "enter": {}, "leave": {} } ], "within": "10 minutes" },
                "dwell": { "zone": "dock" }
              }
            }
            """;
        var errors = Assert.Throws<DefinitionException>(() => RuleReader.Read(json)).Errors;
        string[] expected =
        [
            "line 2, id:", "line 3, version:", "line 4, severity:", "line 5, colour: unknown field",
            "line 6, assets.attributes.ward: must be a string", "line 7, calendar.timeZone:", "line 7, calendar.days[1]:",
            "line 7, calendar.from:", "line 7, calendar: from and to go together", "line 8, clock:", "line 9, pattern: exactly one pattern",
        ];
        foreach (var e in expected)
        {
            Assert.True(errors.Any(x => x.ToString().StartsWith(e, StringComparison.Ordinal)), $"no '{e}' in: {string.Join(" | ", errors)}");
        }

        // One pattern at a time: the second's problems wait until the first is gone.
        var one = json.Replace(",\n    \"dwell\": { \"zone\": \"dock\" }", string.Empty, StringComparison.Ordinal);
        Assert.NotEqual(json, one);
        var inner = Assert.Throws<DefinitionException>(() => RuleReader.Read(one)).Errors;
        Assert.Contains(inner, x => x.Path == "pattern.exitWithout.exit" && x.Message.StartsWith("either zone", StringComparison.Ordinal));
        Assert.Contains(inner, x => x.Path == "pattern.exitWithout.authorisedBy[0].action");
        Assert.Contains(inner, x => x.Path == "pattern.exitWithout.authorisedBy[1]" && x.Message.StartsWith("exactly one of enter, leave, action", StringComparison.Ordinal));
        Assert.Contains(inner, x => x.Path == "pattern.exitWithout.within");
    }

    [Theory]
    [InlineData("08:00", "18:00", "2026-12-07T07:59", false)]
    [InlineData("08:00", "18:00", "2026-12-07T08:00", true)]
    [InlineData("08:00", "18:00", "2026-12-07T18:00", false)]
    [InlineData("22:00", "06:00", "2026-12-07T23:30", true)] // Monday evening
    [InlineData("22:00", "06:00", "2026-12-08T05:59", true)] // Tuesday's small hours belong to Monday night
    [InlineData("22:00", "06:00", "2026-12-07T05:59", false)] // Monday's small hours belong to Sunday night
    [InlineData("00:00", "00:00", "2026-12-07T12:00", true)] // all day Monday
    public void A_calendar_holds_its_hours_on_its_days_and_a_night_span_belongs_to_the_day_it_starts(string from, string to, string local, bool inside)
    {
        var calendar = new RuleCalendar(null, new HashSet<DayOfWeek> { DayOfWeek.Monday }, TimeOnly.Parse(from, System.Globalization.CultureInfo.InvariantCulture), TimeOnly.Parse(to, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(inside, calendar.Contains(DateTime.Parse(local, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Mangled_rules_are_refused_with_reasons_and_never_crash()
    {
        var source = Encoding.UTF8.GetBytes(ExitRule);
        var lines = ExitRule.Count(c => c == '\n') + 1;
        var rng = new Random(31);
        var refused = 0;
        for (var i = 0; i < 3000; i++)
        {
            var b = source.ToList();
            for (var edits = rng.Next(1, 4); edits > 0 && b.Count > 0; edits--)
            {
                var at = rng.Next(b.Count);
                switch (rng.Next(4))
                {
                    case 0: b[at] = (byte)rng.Next(256); break;
                    case 1: b.RemoveRange(at, Math.Min(rng.Next(1, 40), b.Count - at)); break;
                    case 2: b.InsertRange(at, source.AsSpan(rng.Next(source.Length - 30), 30).ToArray()); break;
                    default: b.RemoveRange(at, b.Count - at); break;
                }
            }

            try
            {
                RuleReader.Read(b.ToArray());
            }
            catch (DefinitionException ex)
            {
                refused++;
                Assert.NotEmpty(ex.Errors);
                Assert.All(ex.Errors, e => Assert.InRange(e.Line, 1, lines + 100));
            }
        }

        Assert.True(refused > 2000, $"only {refused} of 3000 mangled rules were refused");
    }

    [Fact]
    public void The_examples_validate_against_the_published_schema_and_the_schema_refuses_what_the_reader_refuses()
    {
        var schema = Json.Schema.JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "rule.schema.json")));
        bool Valid(string json) => schema.Evaluate(JsonDocument.Parse(json).RootElement).IsValid;

        Assert.True(Valid(ExitRule));
        Assert.True(Valid(DockRule));
        Assert.True(Valid(CrowdedRule));
        Assert.True(Valid("""{"id": "full", "version": 1, "pattern": {"occupancy": {"zone": "triage"}}}"""));
        Assert.False(Valid(CrowdedRule.Replace("\"above\": 12", "\"above\": -1", StringComparison.Ordinal)));
        Assert.False(Valid("""{"id": "full", "version": 1, "pattern": {"occupancy": {"zone": "triage", "above": 3}}}"""));
        Assert.True(Valid(RuleReader.Removal("dock-dwell", 2)));
        string[] mistakes =
        [
            ExitRule.Replace("\"version\": 1", "\"version\": 0", StringComparison.Ordinal),
            ExitRule.Replace("\"within\": \"10m\"", "\"within\": \"10 minutes\"", StringComparison.Ordinal),
            ExitRule.Replace("\"severity\": \"critical\"", "\"severity\": \"loud\"", StringComparison.Ordinal),
            ExitRule.Replace("{ \"kind\": \"exit\" }", "{ \"kind\": \"exit\", \"zone\": \"door\" }", StringComparison.Ordinal),
            ExitRule.Replace("{ \"action\": \"checkout\" }", "{ \"action\": \"checkout\", \"enter\": { \"zone\": \"desk\" } }", StringComparison.Ordinal),
            DockRule.Replace("\"from\": \"06:00\", ", string.Empty, StringComparison.Ordinal),
            DockRule.Replace("\"mon\"", "\"monday\"", StringComparison.Ordinal),
            DockRule.Replace("\"longerThan\": \"2h\"", "\"longerThan\": \"2h\", \"for\": \"1h\"", StringComparison.Ordinal),
            """{"id": "x", "version": 1}""",
        ];
        foreach (var m in mistakes)
        {
            Assert.False(Valid(m), "the schema accepted: " + m);
            Assert.Throws<DefinitionException>(() => RuleReader.Read(m));
        }
    }

    [Fact]
    public void The_published_schema_names_every_field_the_reader_takes()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "rule.schema.json")));
        var defs = schema.RootElement.GetProperty("$defs");
        string[] Props(JsonElement e) => [.. e.GetProperty("properties").EnumerateObject().Select(p => p.Name)];

        Assert.Equal(["$schema", "id", "version", "enabled", "severity", "message", "description", "assets", "calendar", "clock", "pattern"], Props(schema.RootElement));
        Assert.Equal(["enters", "leaves", "dwell", "absent", "missing", "followedBy", "notFollowedBy", "exitWithout", "occupancy", "count"], Props(defs.GetProperty("pattern")));
        Assert.Equal(["enter", "leave", "action"], Props(defs.GetProperty("step")));
        Assert.Equal(["timeZone", "days", "from", "to"], Props(defs.GetProperty("calendar")));
        Assert.Equal(["type", "attributes"], Props(defs.GetProperty("assets")));
    }

    private static RulePattern? Pattern(string pattern) => RuleReader.Read($$"""{"id": "r", "version": 1, "pattern": {{pattern}}}""").Pattern;

    private static string Example(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Examples", name));
}
