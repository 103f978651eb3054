using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

/// <summary>
/// A scenario file: windowing options, a script of which antennas see which tag when and how strongly
/// (the ground truth of where the tag really is), how each reader's clock and link misbehave, and the
/// presence events that ground truth implies. <see cref="Expand"/> turns the script into the reads the
/// readers would report, in the order they would reach the gateway, deterministically from the seed.
/// </summary>
internal sealed record ScenarioScript
{
    /// <summary>Event times in scenario files are milliseconds after this instant (2026-11-24T08:00:00Z).</summary>
    public const long StartUs = 1_795_507_200_000_000;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public string Description { get; init; } = "";

    public int Seed { get; init; } = 1;

    public WindowingOptions Windowing { get; init; } = new();

    public Dictionary<string, ReaderBehaviour> Readers { get; init; } = [];

    public List<TagScript> Tags { get; init; } = [];

    /// <summary>Simulated time the gateway keeps ticking to after the last read, so departures happen.</summary>
    public int RunUntilMs { get; init; }

    /// <summary>Gateway tick period during the run.</summary>
    public int TickMs { get; init; } = 100;

    public List<ExpectedEvent> Expected { get; init; } = [];

    public static ScenarioScript Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Scenarios", name);
        return JsonSerializer.Deserialize<ScenarioScript>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} is empty.");
    }

    /// <summary>The reads of the script, with reader timestamps (skewed clocks) and gateway arrival times (link delays).</summary>
    public List<ScriptedRead> Expand()
    {
        var rng = new Random(Seed);
        var reads = new List<ScriptedRead>();
        foreach (var tag in Tags)
        {
            var epc = Epc.ParseHex(tag.Epc);
            foreach (var s in tag.Sightings)
            {
                var period = s.PeriodMs * 1000L;
                var from = s.FromMs * 1000L;
                var to = s.ToMs * 1000L;
                var phase = rng.NextInt64(0, period);
                for (var trueUs = from + phase; trueUs < to; trueUs += period)
                {
                    if (rng.NextDouble() >= s.ReadRate)
                    {
                        continue; // a missed inventory round
                    }

                    var f = (double)(trueUs - from) / Math.Max(1, to - from);
                    var dbm = s.RssiDbm + (((s.ToRssiDbm ?? s.RssiDbm) - s.RssiDbm) * f) + (((rng.NextDouble() * 2) - 1) * s.NoiseDb);
                    Readers.TryGetValue(s.Reader, out var behaviour);
                    behaviour ??= new ReaderBehaviour();
                    var delay = behaviour.LinkDelayMs is [var lo, var hi] ? rng.NextInt64(lo * 1000L, (hi * 1000L) + 1) : 0;
                    var reported = StartUs + trueUs + (behaviour.ClockSkewMs * 1000L);
                    if (behaviour.TimestampResolutionMs > 0)
                    {
                        var res = behaviour.TimestampResolutionMs * 1000L;
                        reported -= reported % res;
                    }

                    reads.Add(new ScriptedRead(
                        new TagRead
                        {
                            Epc = epc,
                            ReaderId = s.Reader,
                            Antenna = (ushort)s.Antenna,
                            RssiCentiDbm = (short)Math.Round(dbm * 100),
                            EventTimeUs = reported,
                            Source = SourceKind.Llrp,
                            SeenCount = 1,
                        },
                        StartUs + trueUs + delay));
                }
            }
        }

        reads.Sort((a, b) => a.ArrivalUs != b.ArrivalUs ? a.ArrivalUs.CompareTo(b.ArrivalUs) : a.Read.EventTimeUs.CompareTo(b.Read.EventTimeUs));
        return reads;
    }

    /// <summary>Feeds the reads to <paramref name="processor"/> in arrival order, ticking the gateway clock, then ticks on to <see cref="RunUntilMs"/>.</summary>
    public void Run(WindowingProcessor processor, IReadOnlyList<ScriptedRead> reads, IWindowOutput output)
    {
        var tick = TickMs * 1000L;
        var nextTick = StartUs + tick;
        foreach (var r in reads)
        {
            while (nextTick <= r.ArrivalUs)
            {
                processor.OnTick(nextTick, output);
                nextTick += tick;
            }

            processor.OnRead(r.Read, output);
        }

        var end = StartUs + (RunUntilMs * 1000L);
        while (nextTick <= end)
        {
            processor.OnTick(nextTick, output);
            nextTick += tick;
        }
    }

    internal sealed record ReaderBehaviour
    {
        /// <summary>How far the reader's clock is ahead of true time (negative: behind).</summary>
        public int ClockSkewMs { get; init; }

        /// <summary>[min, max] delay between the read and its arrival at the gateway.</summary>
        public int[]? LinkDelayMs { get; init; }

        /// <summary>Timestamps are truncated to this resolution (coarse reader clocks make equal timestamps).</summary>
        public int TimestampResolutionMs { get; init; }
    }

    internal sealed record TagScript
    {
        public string Epc { get; init; } = "";

        public List<Sighting> Sightings { get; init; } = [];
    }

    /// <summary>From <see cref="FromMs"/> to <see cref="ToMs"/>, the antenna reads the tag every <see cref="PeriodMs"/> with RSSI going linearly from <see cref="RssiDbm"/> to <see cref="ToRssiDbm"/>.</summary>
    internal sealed record Sighting
    {
        public string Reader { get; init; } = "";

        public int Antenna { get; init; }

        public int FromMs { get; init; }

        public int ToMs { get; init; }

        public int PeriodMs { get; init; } = 40;

        public double RssiDbm { get; init; }

        public double? ToRssiDbm { get; init; }

        public double NoiseDb { get; init; }

        public double ReadRate { get; init; } = 1.0;
    }

    internal sealed record ExpectedEvent
    {
        public string Tag { get; init; } = "";

        public PresenceKind Kind { get; init; }

        /// <summary>The zone; several when the ground truth allows either (a tag parked on a boundary).</summary>
        public string[] Zone { get; init; } = [];

        public string? From { get; init; }

        public int AtMs { get; init; }

        public int WithinMs { get; init; }
    }
}

/// <summary>A read as reported, and when it reached the gateway (µs, gateway clock = true time).</summary>
internal readonly record struct ScriptedRead(TagRead Read, long ArrivalUs);
