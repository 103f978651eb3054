using System.Runtime.CompilerServices;
using EdgeStream.Contracts;
using EdgeStream.Windowing.Tests;
using EdgeStream.Windowing;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Edge windowing figures on the corridor scenario (tests/EdgeStream.UnitTests/Windowing/Scenarios/corridor.json):
/// throughput of the whole processor (reorder, dedupe, arbitration, timers) on one core, and how many raw reads
/// become one uploaded record.
/// </summary>
public sealed class WindowingSuite : IBenchmarkSuite
{
    private const int Walkers = 200;

    public string Name => "windowing";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var script = ScenarioScript.Load("corridor.json");

        // Reduction on the scenario as written: every read in, every record the uplink would carry out.
        var reads = script.Expand();
        var summaries = Replay(script.Windowing, reads);
        var eventsOnly = Replay(script.Windowing with { Reads = new ReadsOutputOptions { Mode = ReadsOutputMode.None } }, reads);
        yield return new Figure("edge.window.reduction_ratio", (double)reads.Count / (summaries.Presence + summaries.Observations), "reads/record");
        yield return new Figure("edge.window.reduction_ratio.presence_only", (double)reads.Count / eventsOnly.Presence, "reads/record");
        yield return new Figure("edge.window.bytes_per_tracked_tag", BytesPerTrackedTag(script.Windowing), "bytes");

        // Throughput: the same corridor walked by many tags at once, starts staggered, reads interleaved by
        // arrival at the gateway across both readers (link jitter included), replayed back to back.
        var crowd = Crowd(script, Walkers).Expand().Select(r => r.Read).ToArray();
        var spanUs = crowd.Max(r => r.EventTimeUs) - crowd.Min(r => r.EventTimeUs) + 60_000_000;
        var dur = TimeSpan.FromSeconds(3);
        foreach (var mode in new[] { ReadsOutputMode.Summaries, ReadsOutputMode.All })
        {
            var processor = new WindowingProcessor(script.Windowing with { Reads = new ReadsOutputOptions { Mode = mode } });
            var sink = new CountingOutput();
            long pass = 0;
            var perSecond = Measure.Throughput(() =>
            {
                var shift = pass++ * spanUs;
                foreach (ref readonly var r in crowd.AsSpan())
                {
                    processor.OnRead(r with { EventTimeUs = r.EventTimeUs + shift }, sink);
                }

                return crowd.Length;
            }, dur);
            var suffix = mode == ReadsOutputMode.Summaries ? "" : ".mode_all";
            yield return new Figure("edge.window.reads_per_s" + suffix, perSecond, "reads/s");

            if (mode == ReadsOutputMode.Summaries)
            {
                var shiftAlloc = pass++ * spanUs;
                var bytes = Measure.AllocatedBytes(() =>
                {
                    foreach (ref readonly var r in crowd.AsSpan())
                    {
                        processor.OnRead(r with { EventTimeUs = r.EventTimeUs + shiftAlloc }, sink);
                    }
                });
                yield return new Figure("edge.window.bytes_allocated_per_read", (double)bytes / crowd.Length, "bytes");
            }
        }
    }

    /// <summary>Heap bytes per present tag: 20,000 tags each arriving in a zone, everything else flushed.</summary>
    private static double BytesPerTrackedTag(WindowingOptions options)
    {
        const int tags = 20_000;
        var processor = new WindowingProcessor(options with
        {
            Reads = new ReadsOutputOptions { Mode = ReadsOutputMode.None },
            MaxTrackedTags = tags,
            DepartureTimeoutMs = 3_600_000,
        });
        var sink = new CountingOutput();
        var zone = options.Zones[0].Antennas[0];
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var t = ScenarioScript.StartUs;
        for (var i = 0; i < tags; i++)
        {
            var epc = Epc.ParseHex($"30340242201D8840{i:X8}");
            for (var k = 0; k < 3; k++)
            {
                processor.OnRead(new TagRead { Epc = epc, ReaderId = zone.Reader, Antenna = (ushort)zone.Antenna, RssiCentiDbm = -5000, EventTimeUs = t += 10, SeenCount = 1 }, sink);
            }
        }

        processor.Flush(sink);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(processor);
        return (double)(after - before) / processor.Stats.PresentTags;
    }

    private static (long Presence, long Observations) Replay(WindowingOptions options, List<ScriptedRead> reads)
    {
        var processor = new WindowingProcessor(options);
        var sink = new CountingOutput();
        script(processor, reads, sink);
        processor.Flush(sink);
        return (sink.Presence, sink.Observations);

        static void script(WindowingProcessor p, List<ScriptedRead> rs, CountingOutput o)
        {
            foreach (var r in rs)
            {
                p.OnRead(r.Read, o);
            }

            // Let the last tag's departure happen, as the gateway's ticks would.
            var last = rs[^1].ArrivalUs;
            for (var tick = last; tick <= last + 60_000_000; tick += 100_000)
            {
                p.OnTick(tick, o);
            }
        }
    }

    /// <summary>The corridor's walkers repeated <paramref name="copies"/> times with distinct EPCs, each copy starting 200 ms later.</summary>
    private static ScenarioScript Crowd(ScenarioScript script, int copies)
    {
        var tags = new List<ScenarioScript.TagScript>();
        for (var k = 0; k < copies; k++)
        {
            foreach (var t in script.Tags)
            {
                var epc = Epc.ParseHex(t.Epc).ToArray();
                epc[^3] = (byte)(k >> 8);
                epc[^2] = (byte)k;
                tags.Add(t with
                {
                    Epc = Convert.ToHexString(epc),
                    Sightings = t.Sightings.Select(s => s with { FromMs = s.FromMs + (k * 200), ToMs = s.ToMs + (k * 200) }).ToList(),
                });
            }
        }

        return script with { Tags = tags };
    }

    private sealed class CountingOutput : IWindowOutput
    {
        public long Presence { get; private set; }

        public long Observations { get; private set; }

        public long Reads { get; private set; }

        public void OnPresence(in PresenceEvent presence) => Presence++;

        public void OnRead(in TagRead read) => Reads++;

        public void OnObservation(in TagObservation observation) => Observations++;

        public void OnRejected(in TagRead read, WindowRejectReason reason)
        {
        }
    }
}
