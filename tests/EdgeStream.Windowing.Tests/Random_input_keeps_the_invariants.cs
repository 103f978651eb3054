using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

/// <summary>
/// Hostile input: unknown readers, antennas in no zone, reads without RSSI, long EPCs, wild disorder and
/// late reads, ticks in between, tiny bounds. Whatever comes in, nothing throws, every read is accounted
/// for exactly once, and each tag's presence events form a consistent story.
/// </summary>
[Trait("Capability", "Windowing")]
public sealed class Random_input_keeps_the_invariants
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_reads_never_throw_and_every_read_is_accounted_for(int seed)
    {
        var rng = new Random(seed);
        var options = new WindowingOptions
        {
            ReorderToleranceMs = 300,
            DepartureTimeoutMs = 1500,
            DedupeIntervalMs = 700,
            MaxTrackedTags = 40,
            MaxBufferedReads = 100,
            MaxOpenObservations = 60,
            Arbitration = new ArbitrationOptions { WindowMs = 600, MinReads = 2, MinMeanRssiDbm = -70, MoveMarginDb = 3, HoldOffMs = 200 },
            Readers = [new ReaderClockOptions { Id = "r2", ClockOffsetMs = 150 }],
            Zones =
            [
                new ZoneOptions { Name = "a", Antennas = [new AntennaOptions { Reader = "r1", Antenna = 1 }, new AntennaOptions { Reader = "r2", Antenna = 1 }] },
                new ZoneOptions { Name = "b", Kind = ZoneKind.Exit, DepartureTimeoutMs = 500, Antennas = [new AntennaOptions { Reader = "r1", Antenna = 2 }] },
                new ZoneOptions { Name = "c", Arbitration = new ArbitrationOverrides { MinReads = 1 }, Antennas = [new AntennaOptions { Reader = "r2", Antenna = 2 }] },
                new ZoneOptions { Name = "d", Antennas = [new AntennaOptions { Reader = "r3", Antenna = 1 }] },
                new ZoneOptions { Name = "e", Antennas = [new AntennaOptions { Reader = "r3", Antenna = 2 }] },
            ],
        };
        var processor = new WindowingProcessor(options);
        var output = new RecordingOutput();
        var readers = new[] { "r1", "r2", "r3", "unknown" };
        var epcs = Enumerable.Range(0, 60)
            .Select(i => i % 10 == 0 ? Epc.FromBytes(Enumerable.Repeat((byte)i, 40).ToArray()) : Epc.ParseHex($"E2{i:X6}"))
            .ToArray();
        var t = 1_000_000_000L;
        var gateway = 9_000_000_000L;
        var sent = 0;
        for (var i = 0; i < 30_000; i++)
        {
            t += rng.Next(0, 2000);
            if (rng.Next(500) == 0)
            {
                t += rng.Next(0, 4_000_000); // a quiet spell
            }

            var read = new TagRead
            {
                Epc = rng.Next(2000) == 0 ? default : epcs[rng.Next(epcs.Length)],
                ReaderId = readers[rng.Next(readers.Length)],
                Antenna = (ushort)rng.Next(0, 4),
                RssiCentiDbm = rng.Next(10) == 0 ? TagRead.NoRssi : (short)rng.Next(-9000, -3000),
                EventTimeUs = t - rng.Next(0, rng.Next(20) == 0 ? 2_000_000 : 250_000), // mostly within the tolerance
                SeenCount = (ushort)rng.Next(0, 3),
            };
            processor.OnRead(read, output);
            sent++;
            if (rng.Next(50) == 0)
            {
                gateway += rng.Next(0, 500_000);
                processor.OnTick(gateway, output);
            }
        }

        processor.Flush(output);
        var stats = processor.Stats;

        Assert.Equal(sent, stats.ReadsIn);
        Assert.Equal(stats.ReadsInvalid, output.Rejected.Count(r => r.Reason == WindowRejectReason.Invalid));
        Assert.Equal(stats.ReadsIn - stats.ReadsInvalid, output.Observations.Sum(o => (long)o.ReadCount));
        Assert.True(stats.ReadsLate > 0 && stats.ReorderOverflows > 0 && stats.ObservationsClosedEarly > 0, $"the bounds were exercised: {stats}");
        Assert.Equal(stats.Arrivals - stats.Departures, stats.PresentTags);
        Assert.True(stats.TrackedTags <= options.MaxTrackedTags);

        foreach (var tag in output.Presence.GroupBy(p => p.Epc))
        {
            string? zone = null;
            var last = long.MinValue;
            foreach (var p in tag)
            {
                Assert.True(p.EventTimeUs >= last, $"{tag.Key}: events go back in time");
                last = p.EventTimeUs;
                switch (p.Kind)
                {
                    case PresenceKind.Arrive:
                        Assert.Null(zone);
                        break;
                    case PresenceKind.Move:
                        Assert.Equal(zone, p.FromZone);
                        Assert.NotEqual(zone, p.Zone);
                        break;
                    case PresenceKind.Depart:
                        Assert.Equal(zone, p.Zone);
                        break;
                }

                zone = p.Kind == PresenceKind.Depart ? null : p.Zone;
            }
        }
    }
}
