using System.Collections.Concurrent;

namespace EdgeStream.Engine.InMemory;

/// <summary>
/// An idempotent output sink in memory, keyed by (key, output id): a replayed output overwrites itself.
/// Counts re-writes, and re-writes whose value differs, which would mean a replay was not deterministic.
/// </summary>
public sealed class InMemoryOutputSink<TKey, TOutput> : IOutputSink<TKey, TOutput>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<(TKey Key, OutputId Id), Output<TKey, TOutput>> _outputs = new();
    private long _writes;
    private long _rewrites;
    private long _conflicts;

    /// <summary>Distinct outputs stored.</summary>
    public int Count => _outputs.Count;

    /// <summary>Writes received, including replays.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Writes of an id already stored (absorbed by idempotence).</summary>
    public long Rewrites => Interlocked.Read(ref _rewrites);

    /// <summary>Re-writes of an id with a different value: a determinism defect if ever non-zero.</summary>
    public long Conflicts => Interlocked.Read(ref _conflicts);

    /// <summary>The stored outputs, ordered by key hash, origin and sequence.</summary>
    public IReadOnlyList<Output<TKey, TOutput>> Snapshot() =>
        [.. _outputs.Values.OrderBy(o => o.Id.KeyHash).ThenBy(o => o.Id.Origin).ThenBy(o => o.Id.Sequence)];

    /// <inheritdoc />
    public void Write(in Output<TKey, TOutput> output)
    {
        Interlocked.Increment(ref _writes);
        var o = output;
        _outputs.AddOrUpdate((o.Key, o.Id), o, (_, old) =>
        {
            Interlocked.Increment(ref _rewrites);
            if (!EqualityComparer<TOutput>.Default.Equals(old.Value, o.Value))
            {
                Interlocked.Increment(ref _conflicts);
            }

            return o;
        });
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// The side output in memory, idempotent by (partition, offset), with queries by reason and event time.
/// </summary>
public sealed class InMemorySideOutput : ISideOutput
{
    private readonly ConcurrentDictionary<(int Partition, long Offset), SideRecord> _records = new();

    /// <summary>Records stored.</summary>
    public int Count => _records.Count;

    /// <summary>Records of one reason with event time in [<paramref name="from"/>, <paramref name="to"/>], by partition and offset.</summary>
    public IReadOnlyList<SideRecord> Query(SideReason reason, long from = long.MinValue, long to = long.MaxValue) =>
        [.. _records.Values.Where(r => r.Reason == reason && r.EventTime >= from && r.EventTime <= to).OrderBy(r => r.Partition).ThenBy(r => r.Offset)];

    /// <inheritdoc />
    public void Write(SideRecord record) => _records[(record.Partition, record.Offset)] = record;

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
