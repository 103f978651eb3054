using System.Globalization;
using System.Runtime.CompilerServices;
using EdgeStream.Contracts;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking;
using EdgeStream.Tracking.Rules;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Workflows;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Rules figures: the tracking job on one core with 1,000 rules and the hospital workflow over 100,000
/// assets (records decoded as the log holds them), and the alert latency of the service, from a
/// processing-time deadline to the alert's webhook (<see cref="RulesLatency"/>).
/// </summary>
/// <remarks>
/// <c>RULES_BENCH=job,latency</c> runs only those groups. The job's input is the tracking suite's (reads and
/// moves over 24 zones, 8 gateways), over 100,000 assets of 20 types (type 0 is <c>patient</c>, which runs
/// the hospital workflow); 50 rules watch each type, of every pattern, over a site of 480 zones (about one
/// in twenty is a zone the tags visit), with deadlines of seconds so that their timers fire within the run.
/// One <c>missing</c> rule per type makes every read reach the rules too. <c>RULES_BENCH_RULES</c> takes the
/// first N rules instead of 1,000 (0: the workflow alone), to see what the rules cost.
/// </remarks>
public sealed class RulesSuite : IBenchmarkSuite
{
    private const int Assets = 100_000;
    private const int Types = 20;
    private const int RulesPerType = 50;

    public string Name => "rules";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var only = Environment.GetEnvironmentVariable("RULES_BENCH")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool Selected(string group) => only is null || only.Length == 0 || only.Contains(group, StringComparer.OrdinalIgnoreCase);

        if (Selected("job"))
        {
            var (perSecond, alerts, steps) = JobThroughput();
            yield return new Figure("rules.events_per_s", perSecond, "events/s");
            yield return new Figure("rules.alerts_per_s", alerts, "alerts/s");
            yield return new Figure("rules.workflow_steps_per_s", steps, "steps/s");
        }

        if (Selected("latency"))
        {
            foreach (var f in await RulesLatency.RunAsync(cancellationToken))
            {
                yield return f;
            }
        }
    }

    /// <summary>The zones' kinds: four exits, four waiting rooms, the rest rooms.</summary>
    internal static string KindOf(string zone) =>
        int.Parse(zone.AsSpan(5), CultureInfo.InvariantCulture) switch
        {
            < 4 => "exit",
            < 8 => "waiting-room",
            _ => "room",
        };

    /// <summary>1,000 rules: 50 per type, cycling through the patterns over the zones.</summary>
    internal static IEnumerable<RuleDefinition> Rules()
    {
        for (var type = 0; type < Types; type++)
        {
            var typeName = TypeName(type);
            for (var r = 0; r < RulesPerType; r++)
            {
                // The site has 480 zones; the input's tags move among the first 24, so about one rule in
                // twenty watches a zone they visit, as rules over a whole hospital do for one ward's assets.
                var zone = "zone-" + (((type * RulesPerType) + r) % 480).ToString("D2", CultureInfo.InvariantCulture);
                var other = "zone-" + (((type * RulesPerType) + r + 7) % 480).ToString("D2", CultureInfo.InvariantCulture);
                var pattern = (r % 8) switch
                {
                    0 => $$$"""{"enters": {"zone": "{{{zone}}}"}}""",
                    1 => $$$"""{"leaves": {"zone": "{{{zone}}}"}}""",
                    2 => $$$"""{"dwell": {"zone": "{{{zone}}}", "longerThan": "1s"}}""",
                    3 => $$$"""{"absent": {"zone": "{{{zone}}}", "for": "2s"}}""",
                    4 => $$$"""{"followedBy": {"first": {"leave": {"zone": "{{{zone}}}"}}, "then": {"enter": {"zone": "{{{other}}}"}}, "within": "1s"}}""",
                    5 => $$$"""{"notFollowedBy": {"first": {"enter": {"zone": "{{{zone}}}"}}, "then": {"enter": {"zone": "{{{other}}}"}}, "within": "1s"}}""",
                    6 => $$$"""{"exitWithout": {"exit": {"zone": "{{{zone}}}"}, "authorisedBy": [{"enter": {"zone": "{{{other}}}"}}, {"action": "checkout"}], "within": "1s"}}""",
                    _ => r == 7 ? """{"missing": {"for": "5s"}}""" : $$$"""{"dwell": {"zone": "{{{zone}}}", "longerThan": "3s"}}""",
                };
                yield return RuleReader.Read($$$"""{"id": "r-{{{type}}}-{{{r}}}", "version": 1, "assets": {"type": "{{{typeName}}}"}, "pattern": {{{pattern}}}}""");
            }
        }
    }

    private static string TypeName(int type) => type == 0 ? "patient" : "type-" + type.ToString(CultureInfo.InvariantCulture);

    private static (double Events, double Alerts, double Steps) JobThroughput()
    {
        var input = TrackingInput.Create(assets: Assets, events: 4_000_000, seed: 5);
        var profiles = new Dictionary<Epc, AssetProfile>();
        var none = new Dictionary<string, string>();
        for (var i = 0; i < Assets; i++)
        {
            profiles[TrackingInput.Tag(i)] = new AssetProfile(TypeName(i % Types), none);
        }

        var hospital = WorkflowReader.Read(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Examples", "hospital-patient.workflow.json")));
        var workflows = new TagWorkflows(WorkflowCatalog.Empty(KindOf).With(hospital, TrackingSuite.T0 - 1), epc => profiles.TryGetValue(epc, out var p) ? p.Type : null);
        var catalog = RuleCatalog.Empty(KindOf, _ => null);
        var count = int.Parse(Environment.GetEnvironmentVariable("RULES_BENCH_RULES") ?? "1000", CultureInfo.InvariantCulture);
        foreach (var rule in Rules().Take(count))
        {
            catalog = catalog.With(rule, TrackingSuite.T0 - 1);
        }

        var rules = new TagRules(catalog, epc => profiles.GetValueOrDefault(epc));
        var sink = new StepCountingSink();
        var job = new TrackingJob(new NameTable(), new NameTable(), workflows: workflows, rules: rules);
        var options = new EngineOptions { OutOfOrdernessUs = 500_000, AllowedLatenessUs = 60_000_000 };
        var task = new StreamTask<TrackingEvent, Epc, TagState, TrackingOutput>(job, options, 0, sink, new InMemorySideOutput());
        var pass = 0;
        long offset = 0;
        long alertsBefore = 0, stepsBefore = 0, measured = 0;
        var encoded = input;
        var perSecond = Measure.Throughput(
            () =>
            {
                for (var i = 0; i < encoded.Count; i++)
                {
                    encoded.Record(i, out var k, out var v);
                    task.ProcessRecord(offset++, k, v);
                }

                measured += encoded.Count;
                return encoded.Count;
            },
            TimeSpan.FromSeconds(8),
            TimeSpan.FromSeconds(2),
            prepare: () =>
            {
                if (pass == 1)
                {
                    // The warm-up pass is over: count from here (Measure restarts its clock after warm-up too).
                    (alertsBefore, stepsBefore, measured) = (sink.Alerts, sink.Steps, 0);
                }

                encoded = input.Encoded(pass++);
            });
        var seconds = measured / perSecond;
        if (task.Counters.Late != 0 || task.Counters.Malformed != 0 || (count > 0 && sink.Alerts == 0) || sink.Steps == 0)
        {
            throw new InvalidOperationException($"rules benchmark is not measuring what it claims: late {task.Counters.Late}, malformed {task.Counters.Malformed}, alerts {sink.Alerts}, workflow steps {sink.Steps}");
        }

        return (perSecond, (sink.Alerts - alertsBefore) / seconds, (sink.Steps - stepsBefore) / seconds);
    }

    /// <summary>Counts the rules' alerts and the workflow's steps, and drops the rest.</summary>
    private sealed class StepCountingSink : IOutputSink<Epc, TrackingOutput>
    {
        public long Alerts { get; private set; }

        public long Steps { get; private set; }

        public void Write(in Output<Epc, TrackingOutput> output)
        {
            if (output.Value.Step is { } step)
            {
                if (step.Rule)
                {
                    Alerts += step.What is AlertRaised ? 1 : 0;
                }
                else
                {
                    Steps++;
                }
            }
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
