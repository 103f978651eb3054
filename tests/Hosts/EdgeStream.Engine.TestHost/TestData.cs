namespace EdgeStream.Engine.TestHost;

/// <summary>Deterministic event streams for engine tests.</summary>
public static class TestData
{
    /// <summary>
    /// Events of <paramref name="sources"/> sources over <paramref name="keys"/> keys, in time order per
    /// source, times advancing by a random step up to <paramref name="maxStepUs"/>, starting at
    /// <paramref name="startUs"/>. Merged across sources by time.
    /// </summary>
    public static List<CountEvent> Generate(int seed, int count, int keys, int sources, long startUs = 1_764_000_000_000_000, int maxStepUs = 2_000)
    {
        var rng = new Random(seed);
        var times = new long[sources];
        var seqs = new uint[sources];
        Array.Fill(times, startUs);
        var list = new List<CountEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var s = rng.Next(sources);
            times[s] += rng.Next(1, maxStepUs);
            list.Add(new CountEvent((ulong)rng.Next(keys) + 1, (ulong)s + 100, times[s], seqs[s]++, rng.Next(1, 100)));
        }

        list.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Source != b.Source ? a.Source.CompareTo(b.Source) : a.Seq.CompareTo(b.Seq));
        return list;
    }

    /// <summary>
    /// Reorders a time-sorted stream so that every event arrives at most <paramref name="boundUs"/> after
    /// later-timed events of its own source: each event is delayed by a random amount below the bound.
    /// </summary>
    public static List<CountEvent> ShuffleWithinBound(IReadOnlyList<CountEvent> sorted, long boundUs, int seed)
    {
        var rng = new Random(seed);
        return [.. sorted
            .Select(e => (e, arrival: e.Time + (long)(rng.NextDouble() * boundUs * 0.9)))
            .OrderBy(x => x.arrival)
            .Select(x => x.e)];
    }

    /// <summary>Partition of a key when keys are spread over <paramref name="partitions"/> partitions.</summary>
    public static int PartitionOf(ulong key, int partitions) => (int)(key % (ulong)partitions);
}
