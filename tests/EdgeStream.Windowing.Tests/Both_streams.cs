using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class Both_streams
{
    [Fact]
    public void Presence_events_and_summarised_reads_flow_as_separate_classes_through_the_wire_format()
    {
        var script = ScenarioScript.Load("corridor.json");
        var processor = new WindowingProcessor(script.Windowing);
        var buffer = new WindowOutputBuffer();
        var presence = new List<Batch>();
        var reads = new List<Batch>();
        ulong sequence = 0;

        // The pipeline stage: feed, then hand each class on as its own batch.
        void Drain()
        {
            if (buffer.Presence.Count > 0)
            {
                presence.Add(RoundTrip(new Batch { GatewayId = "gw-1", Sequence = ++sequence, Class = DataClass.Presence, Events = buffer.Presence.ToArray() }));
            }

            if (buffer.Reads.Count > 0)
            {
                reads.Add(RoundTrip(new Batch { GatewayId = "gw-1", Sequence = ++sequence, Class = DataClass.Reads, Reads = buffer.Reads.ToArray() }));
            }

            buffer.Clear();
        }

        var expanded = script.Expand();
        for (var i = 0; i < expanded.Count; i += 100)
        {
            foreach (var r in expanded.Skip(i).Take(100))
            {
                processor.OnRead(r.Read, buffer);
            }

            Drain();
        }

        for (var tick = expanded[^1].ArrivalUs; tick < expanded[^1].ArrivalUs + 10_000_000; tick += 100_000)
        {
            processor.OnTick(tick, buffer);
        }

        processor.Flush(buffer);
        Drain();

        var events = presence.SelectMany(b => b.Events).ToList();
        Assert.Equal(10, events.Count);
        Assert.All(presence, b => Assert.Empty(b.Reads));
        var summarised = reads.SelectMany(b => b.Reads).ToList();
        Assert.Equal(processor.Stats.Observations, summarised.Count);
        Assert.Equal(expanded.Count, summarised.Sum(r => (int)r.SeenCount)); // every raw read is accounted for
        Assert.True(summarised.Count * 10 < expanded.Count);
        Assert.All(summarised, r => Assert.NotEqual(TagRead.NoRssi, r.RssiCentiDbm));
    }

    [Fact]
    public void Observation_in_wire_form_keeps_first_seen_peak_rssi_and_seen_count()
    {
        var o = new TagObservation
        {
            Epc = Epc.ParseHex("AB01"),
            ReaderId = "r",
            Source = SourceKind.Serial,
            Antenna = 2,
            FirstSeenUs = 10,
            LastSeenUs = 20,
            ReadCount = 3,
            SeenCount = 70_000,
            PeakRssiCentiDbm = -4100,
            MeanRssiCentiDbm = -5000,
        };

        var r = o.ToTagRead();

        Assert.Equal(new TagRead { Epc = o.Epc, ReaderId = "r", Source = SourceKind.Serial, Antenna = 2, EventTimeUs = 10, RssiCentiDbm = -4100, SeenCount = ushort.MaxValue }, r);
    }

    private static Batch RoundTrip(Batch batch) => BatchCodec.Decode(BatchCodec.Encode(batch));
}
