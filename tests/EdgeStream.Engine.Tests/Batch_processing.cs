using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.Time;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// The batch entry points (<c>ProcessRecords</c>, <c>ProcessEvents</c>) recompute the watermark once per
/// batch; whatever the batch boundaries, they must give exactly what per-record processing gives.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class Batch_processing
{
    private const long T0 = 1_764_000_000_000_000;

    private static List<CountEvent> Duplicated(List<CountEvent> events, int seed)
    {
        var rng = new Random(seed);
        var list = new List<CountEvent>();
        foreach (var e in events)
        {
            list.Add(e);
            if (rng.Next(7) == 0)
            {
                list.Add(e);
            }
        }

        return list;
    }

    private static List<string> PerRecord(List<CountEvent> events)
    {
        var kit = new TaskKit();
        kit.Feed(events);
        kit.Task.EndOfInput();
        Assert.Equal(0, kit.Side.Count);
        return kit.Outputs();
    }

    private static void FeedInRecordBatches(TaskKit kit, List<CountEvent> events, int batchSize)
    {
        var batch = new RecordBatch(batchSize);
        foreach (var chunk in events.Chunk(batchSize))
        {
            batch.Clear();
            foreach (var e in chunk)
            {
                Assert.True(batch.TryAdd(kit.Offset++, e.KeyBytes(), e.ValueBytes()));
            }

            kit.Task.ProcessRecords(batch);
        }

        Assert.Equal(kit.Offset, kit.Task.NextOffset);
    }

    private static List<string> InRecordBatches(List<CountEvent> events, int batchSize)
    {
        var kit = new TaskKit();
        FeedInRecordBatches(kit, events, batchSize);
        kit.Task.EndOfInput();
        Assert.Equal(0, kit.Side.Count);
        return kit.Outputs();
    }

    private static List<string> InEventBatches(List<CountEvent> events, int batchSize)
    {
        var kit = new TaskKit();
        foreach (var chunk in events.Chunk(batchSize))
        {
            kit.Task.ProcessEvents(chunk, kit.Offset);
            kit.Offset += chunk.Length;
        }

        Assert.Equal(kit.Offset, kit.Task.NextOffset);
        kit.Task.EndOfInput();
        Assert.Equal(0, kit.Side.Count);
        return kit.Outputs();
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 7)]
    [InlineData(3, 256)]
    [InlineData(4, 5_000)]
    public void Batches_of_any_size_give_the_outputs_of_per_record_processing(int seed, int batchSize)
    {
        var sorted = TestData.Generate(seed, 20_000, keys: 300, sources: 4);
        var shuffled = Duplicated(TestData.ShuffleWithinBound(sorted, 50_000, seed + 10), seed);

        var expected = PerRecord(sorted);
        Assert.True(expected.Count > 1000);
        Assert.Equal(expected, PerRecord(shuffled));
        Assert.Equal(expected, InRecordBatches(shuffled, batchSize));
        Assert.Equal(expected, InEventBatches(shuffled, batchSize));
    }

    /// <summary>
    /// Every 25th event is held back until the input is 50–100 ms past it (bound 50 ms, allowed lateness
    /// 20 ms): some are accepted late, some go to the side output. A replay after a crash cuts its batches
    /// differently, so the late/on-time decisions and the order the job sees must not depend on the cut.
    /// </summary>
    private static List<CountEvent> WithLateEvents(List<CountEvent> events, int seed)
    {
        var rng = new Random(seed);
        var list = new List<CountEvent>(events);
        for (var i = list.Count - 1; i >= 0; i -= 25)
        {
            var e = list[i];
            var due = e.Time + 50_000 + rng.Next(0, 50_000);
            var j = i + 1;
            while (j < list.Count && list[j].Time < due)
            {
                j++;
            }

            if (j < list.Count)
            {
                list.RemoveAt(i);
                list.Insert(j, e);
            }
        }

        return list;
    }

    private static (List<string> Outputs, List<long> Late, long LateAccepted) Run(List<CountEvent> events, int batchSize)
    {
        var kit = new TaskKit();
        if (batchSize == 0)
        {
            kit.Feed(events);
        }
        else
        {
            FeedInRecordBatches(kit, events, batchSize);
        }

        kit.Task.EndOfInput();
        return (kit.Outputs(), [.. kit.Side.Query(SideReason.Late).Select(r => r.Offset)], kit.Task.Counters.LateAccepted);
    }

    [Theory]
    [InlineData(11, 3)]
    [InlineData(12, 64)]
    [InlineData(13, 1_024)]
    [InlineData(14, 7_000)]
    public void Late_events_are_judged_and_ordered_the_same_whatever_the_batch_boundaries(int seed, int batchSize)
    {
        var sorted = TestData.Generate(seed, 20_000, keys: 200, sources: 4);
        var input = WithLateEvents(TestData.ShuffleWithinBound(sorted, 50_000, seed + 10), seed);

        var (outputs, late, lateAccepted) = Run(input, batchSize: 0);
        Assert.True(late.Count > 20, $"only {late.Count} events went to the side output: the input does not test lateness");
        Assert.True(lateAccepted > 20, $"only {lateAccepted} events were accepted late: the input does not test allowed lateness");

        var (batchOutputs, batchLate, batchLateAccepted) = Run(input, batchSize);
        Assert.Equal(late, batchLate);
        Assert.Equal(lateAccepted, batchLateAccepted);
        Assert.Equal(outputs, batchOutputs);
    }

    [Fact]
    public void A_batch_releases_what_its_watermark_passes_once_it_is_processed()
    {
        var kit = new TaskKit();
        CountEvent[] batch =
        [
            new(1, 100, T0 + 30_000, 0, 1),
            new(1, 100, T0 + 10_000, 1, 1),
            new(1, 100, T0 + 20_000, 2, 1),
            new(1, 100, T0 + 75_000, 3, 1),
        ];
        kit.Task.ProcessEvents(batch, 0);

        // As one event at a time would leave it: watermark 75 ms - 50 ms, the two events before it released.
        Assert.Equal(T0 + 25_000, kit.Task.Watermark);
        Assert.Equal(2, kit.Task.Counters.Processed);
        Assert.Equal(2, kit.Task.BufferedEvents);
        Assert.Equal(4, kit.Task.NextOffset);
    }

    [Fact]
    public void A_returning_source_releasing_held_events_mid_batch_gives_the_per_record_outputs()
    {
        List<string> Run(bool batched)
        {
            var kit = new TaskKit(new EngineOptions { OutOfOrdernessUs = 50_000, AllowedLatenessUs = 0, IdleTimeout = TimeSpan.FromSeconds(1) });

            // Both sources send, fall silent and go idle; source 200 then returns far behind the watermark, and
            // its event is held on its own clock.
            kit.Feed(new CountEvent(7, 200, T0 + 10_000, 0, 1));
            kit.Feed(new CountEvent(7, 100, T0 + 500_000, 0, 1));
            kit.Clock.Advance(TimeSpan.FromSeconds(2));
            kit.Task.OnClock(caughtUp: true);
            kit.Feed(new CountEvent(7, 200, T0 + 20_000, 1, 1));
            Assert.Equal(SourceStatus.Behind, kit.Task.Sources().Single(s => s.Id == 200).Status);

            // Source 100 moves the watermark past key 7's window end (T0 + 1 s); then source 200's own watermark
            // passes its held event. Per record, the window fires before the held event is processed.
            CountEvent[] tail = [new(7, 100, T0 + 1_100_000, 1, 1), new(7, 200, T0 + 100_000, 2, 1)];
            if (batched)
            {
                kit.Task.ProcessEvents(tail, kit.Offset);
                kit.Offset += tail.Length;
            }
            else
            {
                kit.Feed(tail);
            }

            kit.Task.EndOfInput();
            Assert.Equal(0, kit.Side.Count);
            return kit.Outputs();
        }

        var perRecord = Run(batched: false);
        Assert.Contains(perRecord, o => o.Contains(" Window ", StringComparison.Ordinal));
        Assert.Contains(perRecord, o => o.Contains(" Correction ", StringComparison.Ordinal));
        Assert.Equal(perRecord, Run(batched: true));
    }

    [Fact]
    public void A_steady_stream_processed_in_batches_allocates_nothing_per_event()
    {
        var sink = new CountingSink();
        var options = new EngineOptions { OutOfOrdernessUs = 50_000, AllowedLatenessUs = 20_000, KeyGroupCount = 32 };
        var task = new StreamTask<CountEvent, ulong, CountState, Summary>(new CountJob(), options, 0, sink, new InMemorySideOutput());
        var events = TestData.ShuffleWithinBound(TestData.Generate(7, 200_000, keys: 5_000, sources: 4), 50_000, 8).ToArray();
        var half = events.Length / 2;

        // The first half grows the buffers, the table and the pools to their working size.
        Feed(task, events.AsSpan(0, half), 0);
        var outputs = sink.Count;
        var before = GC.GetAllocatedBytesForCurrentThread();
        Feed(task, events.AsSpan(half), half);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(sink.Count - outputs > 10_000, $"only {sink.Count - outputs} window outputs: the stream does not exercise timers");
        Assert.True(allocated < events.Length - half, $"{allocated} bytes allocated for {events.Length - half} events; late {task.Counters.Late}, late accepted {task.Counters.LateAccepted}, forced {task.Counters.ForcedReleases}, timers {task.Counters.TimersFired}, dup {task.Counters.Duplicates}");

        static void Feed(StreamTask<CountEvent, ulong, CountState, Summary> task, ReadOnlySpan<CountEvent> events, long offset)
        {
            for (var i = 0; i < events.Length; i += 1024)
            {
                var n = Math.Min(1024, events.Length - i);
                task.ProcessEvents(events.Slice(i, n), offset + i);
            }
        }
    }

    [Fact]
    public void Malformed_and_late_records_in_a_batch_are_side_outputs_and_the_rest_is_processed()
    {
        var kit = new TaskKit();
        kit.Feed(new CountEvent(1, 100, T0 + 1_000_000, 0, 1));
        var batch = new RecordBatch(8);
        var late = new CountEvent(2, 100, T0, 1, 1);
        var onTime = new CountEvent(3, 100, T0 + 990_000, 2, 1);
        Assert.True(batch.TryAdd(1, late.KeyBytes(), late.ValueBytes()));
        Assert.True(batch.TryAdd(2, [1, 2], [3, 4, 5]));
        Assert.True(batch.TryAdd(3, onTime.KeyBytes(), onTime.ValueBytes()));
        kit.Task.ProcessRecords(batch);

        Assert.Equal(1, kit.Task.Counters.Late);
        Assert.Equal(1, kit.Task.Counters.Malformed);
        Assert.Equal(2, kit.Side.Count);
        Assert.Equal(4, kit.Task.NextOffset);
        kit.Task.EndOfInput();
        Assert.Equal(2, kit.Task.Counters.Processed);
    }

    private sealed class CountingSink : IOutputSink<ulong, Summary>
    {
        public long Count { get; private set; }

        public void Write(in Output<ulong, Summary> output) => Count++;

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
