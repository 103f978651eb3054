using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class Readers_with_skewed_clocks
{
    [Fact]
    public void Reader_clock_behind_by_400ms_with_a_bursty_link_is_corrected_and_windowed_exactly()
    {
        var run = ScenarioRun.Execute(ScenarioScript.Load("skewed-clocks.json"));

        run.AssertMatchesGroundTruth();
        run.AssertEveryReadObserved();
        Assert.Equal(0, run.Processor.Stats.ReadsLate);
    }

    [Fact]
    public void Uncorrected_skew_within_the_tolerance_still_gives_the_same_sequence()
    {
        var script = ScenarioScript.Load("skewed-clocks.json");

        // Uncorrected, whatever reader-b decides (the move into dock-2 and the departure from it) carries
        // reader-b's clock: 400 ms early. The sequence is the same.
        script = script with
        {
            Windowing = script.Windowing with { Readers = [] },
            Expected = script.Expected.Select(e => e.Zone.Contains("dock-2") ? e with { AtMs = e.AtMs - 400 } : e).ToList(),
        };

        var run = ScenarioRun.Execute(script);

        run.AssertMatchesGroundTruth();
        Assert.Equal(0, run.Processor.Stats.ReadsLate);
    }

    [Fact]
    public void Skew_beyond_the_tolerance_is_counted_as_late_and_no_read_is_lost()
    {
        var script = ScenarioScript.Load("skewed-clocks.json");
        var readers = new Dictionary<string, ScenarioScript.ReaderBehaviour>(script.Readers)
        {
            ["reader-b"] = new() { ClockSkewMs = -3000, LinkDelayMs = [0, 300] },
        };
        script = script with { Readers = readers, Windowing = script.Windowing with { Readers = [] } };

        var run = ScenarioRun.Execute(script);

        Assert.True(run.Processor.Stats.ReadsLate > 0);
        run.AssertEveryReadObserved();
        Assert.True(run.Output.Observations.Count(o => o.ReadCount == 1 && o.ReaderId == "reader-b") >= run.Processor.Stats.ReadsLate);
    }

    [Fact]
    public void Configured_clock_offset_moves_event_times_of_that_reader_only()
    {
        var options = new WindowingOptions
        {
            Readers = [new ReaderClockOptions { Id = "slow", ClockOffsetMs = 250 }],
            Reads = new ReadsOutputOptions { Mode = ReadsOutputMode.All },
        };
        var processor = new WindowingProcessor(options);
        var output = new RecordingOutput();

        processor.OnRead(Reads.At("slow", 1, "AA01", 1_000_000), output);
        processor.OnRead(Reads.At("fast", 1, "AA01", 1_000_000), output);

        Assert.Equal(1_250_000, output.Reads[0].EventTimeUs);
        Assert.Equal(1_000_000, output.Reads[1].EventTimeUs);
    }
}
