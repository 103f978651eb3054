using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

/// <summary>Runs a scenario through a processor and checks the presence events against its ground truth.</summary>
internal sealed class ScenarioRun
{
    private ScenarioRun(ScenarioScript script, WindowingProcessor processor, RecordingOutput output, List<ScriptedRead> reads)
    {
        Script = script;
        Processor = processor;
        Output = output;
        Reads = reads;
    }

    public ScenarioScript Script { get; }

    public WindowingProcessor Processor { get; }

    public RecordingOutput Output { get; }

    public List<ScriptedRead> Reads { get; }

    public static ScenarioRun Execute(ScenarioScript script)
    {
        var processor = new WindowingProcessor(script.Windowing);
        var output = new RecordingOutput();
        var reads = script.Expand();
        script.Run(processor, reads, output);
        processor.Flush(output);
        return new ScenarioRun(script, processor, output, reads);
    }

    public List<PresenceEvent> EventsOf(string epc)
    {
        var tag = Epc.ParseHex(epc);
        return Output.Presence.Where(p => p.Epc == tag).ToList();
    }

    /// <summary>Every tag's events are exactly the expected sequence (kind, zone, from-zone), each at its expected time.</summary>
    public void AssertMatchesGroundTruth()
    {
        var tags = Script.Tags.Select(t => t.Epc).ToList();
        foreach (var tag in tags)
        {
            var expected = Script.Expected.Where(e => e.Tag == tag).ToList();
            var actual = EventsOf(tag);
            var why = $"tag {tag}, events:{Environment.NewLine}{Output.Describe()}";
            Assert.True(expected.Count == actual.Count, $"expected {expected.Count} events, got {actual.Count}; {why}");
            for (var i = 0; i < expected.Count; i++)
            {
                var e = expected[i];
                var a = actual[i];
                Assert.True(e.Kind == a.Kind, $"event {i}: expected {e.Kind}, got {a.Kind}; {why}");
                Assert.True(e.Zone.Contains(a.Zone), $"event {i}: expected zone {string.Join("|", e.Zone)}, got {a.Zone}; {why}");
                Assert.True(e.From == a.FromZone, $"event {i}: expected from {e.From ?? "(none)"}, got {a.FromZone ?? "(none)"}; {why}");
                var atMs = (a.EventTimeUs - ScenarioScript.StartUs) / 1000.0;
                Assert.True(Math.Abs(atMs - e.AtMs) <= e.WithinMs, $"event {i}: expected at {e.AtMs}±{e.WithinMs} ms, got {atMs} ms; {why}");
                Assert.True(a.ReadCount > 0, $"event {i} carries no evidence; {why}");
                Assert.NotEqual(TagRead.NoRssi, a.MeanRssiCentiDbm);
                Assert.True(a.PeakRssiCentiDbm >= a.MeanRssiCentiDbm, $"event {i}: peak below mean; {why}");
            }
        }

        // Move events never repeat a zone, and the from-zone is the zone the tag was in.
        foreach (var tag in tags)
        {
            string? zone = null;
            foreach (var p in EventsOf(tag))
            {
                if (p.Kind == PresenceKind.Move)
                {
                    Assert.Equal(zone, p.FromZone);
                }

                zone = p.Kind == PresenceKind.Depart ? null : p.Zone;
            }
        }
    }

    /// <summary>No read is lost: every read accepted ends up counted in exactly one observation.</summary>
    public void AssertEveryReadObserved()
    {
        Assert.Equal(Reads.Count, Output.Observations.Sum(o => o.ReadCount));
        Assert.Equal(Reads.Count, Processor.Stats.ReadsIn);
        Assert.Equal(0, Processor.Stats.BufferedReads);
        Assert.Equal(0, Processor.Stats.OpenObservations);
    }
}
