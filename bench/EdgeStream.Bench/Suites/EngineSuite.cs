using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeStream.Engine;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.EventLog;
using EdgeStream.Engine.State;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.EventLog.Kafka;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Stream engine figures: events per second through watermarks, reordering, keyed state and timers on
/// one core, beside a bare dictionary loop doing the same state updates; end to end from a log; latency
/// beyond the out-of-orderness bound; checkpoint time and pause for a million keys; recovery; memory per key.
/// </summary>
public sealed class EngineSuite : IBenchmarkSuite
{
    private const long T0 = 1_764_000_000_000_000;
    private const long Bound = 50_000;
    private const int Keys = 100_000;
    private const int Chunk = 500_000;

    public string Name => "engine";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var events = NearlySorted(Chunk, Keys, sources: 8, seed: 1);
        var span = events[^1].Time - events[0].Time + Bound * 4;
        var dur = TimeSpan.FromSeconds(3);

        // Engine: one task on this thread, fed decoded events a batch at a time as a runner feeds it
        // (ReadBatchSize records per read, default options).
        var sink = new CountingSink();
        var engineOptions = new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, KeyGroupCount = 128 };
        var task = NewTask(engineOptions, sink);
        var batch = new BenchEvent[engineOptions.ReadBatchSize];
        long shift = 0;
        long offset = 0;
        var engine = Measure.Throughput(() =>
        {
            for (var i = 0; i < events.Length; i += batch.Length)
            {
                var n = Math.Min(batch.Length, events.Length - i);
                for (var j = 0; j < n; j++)
                {
                    var e = events[i + j];
                    batch[j] = new BenchEvent(e.Key, e.Source, e.Time + shift, e.Seq);
                }

                task.ProcessEvents(batch.AsSpan(0, n), offset);
                offset += n;
            }

            shift += span;
            return events.Length;
        }, dur);
        if (task.Counters.Late != 0 || sink.Count == 0)
        {
            throw new InvalidOperationException($"engine benchmark is not measuring what it claims: late {task.Counters.Late}, outputs {sink.Count}");
        }

        // Baseline: the same per-key updates in a bare dictionary, no engine.
        var bare = new Dictionary<ulong, BenchState>();
        var baseline = Measure.Throughput(() =>
        {
            for (var i = 0; i < events.Length; i++)
            {
                ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(bare, events[i].Key, out _);
                s.Count++;
                s.Last = Math.Max(s.Last, events[i].Time);
            }

            return events.Length;
        }, dur);
        yield return new Figure("engine.events_per_s", engine, "events/s");
        yield return new Figure("engine.baseline.events_per_s", baseline, "events/s");
        yield return new Figure("engine.ratio_to_baseline", engine / baseline, "ratio");

        yield return new Figure("engine.e2e.events_per_s", await EndToEndAsync(events), "events/s");
        yield return new Figure("engine.e2e.embedded.events_per_s", await EndToEndOnEmbeddedLogAsync(events), "events/s");
        yield return new Figure("engine.e2e.kafka.events_per_s", await EndToEndOnKafkaAsync(events), "events/s");
        yield return new Figure("engine.latency_p99_ms", await LatencyP99Async(), "ms");

        var (checkpointS, pauseMs, recoveryS, bytesPerKey) = await CheckpointFiguresAsync();
        yield return new Figure("engine.checkpoint_1m_keys_s", checkpointS, "s");
        yield return new Figure("engine.checkpoint_pause_ms", pauseMs, "ms");
        yield return new Figure("engine.recovery_s", recoveryS, "s");
        yield return new Figure("engine.bytes_per_key", bytesPerKey, "bytes");
    }

    private static StreamTask<BenchEvent, ulong, BenchState, long> NewTask(EngineOptions options, IOutputSink<ulong, long> sink, int partition = 0) =>
        new(new BenchJob(), options, partition, sink, new InMemorySideOutput());

    /// <summary>Events of several sources, times advancing about 1 µs per event, shuffled within 80% of the bound.</summary>
    private static BenchEvent[] NearlySorted(int n, int keys, int sources, int seed)
    {
        var rng = new Random(seed);
        var list = new (BenchEvent E, long Arrival)[n];
        var seqs = new uint[sources];
        var t = T0;
        for (var i = 0; i < n; i++)
        {
            t += rng.Next(0, 3);
            var s = rng.Next(sources);
            var e = new BenchEvent((ulong)rng.Next(keys), (ulong)s, t, seqs[s]++);
            list[i] = (e, t + (long)(rng.NextDouble() * Bound * 0.8));
        }

        return [.. list.OrderBy(x => x.Arrival).Select(x => x.E)];
    }

    /// <summary>Records appended to an in-memory log, read, decoded and processed by a runner on 2 partitions.</summary>
    private static async Task<double> EndToEndAsync(BenchEvent[] events)
    {
        const int partitions = 2;
        var total = 0L;
        var elapsed = TimeSpan.Zero;
        for (var round = 0; round < 2; round++)
        {
            var log = new InMemoryLog(partitions);
            var value = new byte[BenchEvent.Size];
            var key = new byte[8];
            for (var repeat = 0; repeat < 4; repeat++)
            {
                foreach (var e in events)
                {
                    var shifted = e with { Time = e.Time + (repeat * 1_000_000L) };
                    shifted.Write(value);
                    BinaryPrimitives.WriteUInt64LittleEndian(key, e.Key);
                    log.Append((int)(e.Key % partitions), key, value);
                }
            }

            for (var p = 0; p < partitions; p++)
            {
                log.Seal(p);
            }

            var dir = Path.Combine(Path.GetTempPath(), "engine-bench-" + Guid.NewGuid().ToString("N"));
            try
            {
                var options = new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, ReadBatchSize = 4096, CheckpointInterval = TimeSpan.FromSeconds(30) };
                await using var runner = new StreamRunner<BenchEvent, ulong, BenchState, long>(new BenchJob(), options, log, new CountingSink(), new InMemorySideOutput(), new FileCheckpointStore(dir), name: "bench-e2e");
                var sw = Stopwatch.StartNew();
                await runner.AssignAsync(Enumerable.Range(0, partitions), CancellationToken.None);
                await runner.WhenAllEndedAsync();
                if (round > 0)
                {
                    elapsed += sw.Elapsed;
                    total += runner.Status().Sum(s => s.Processed);
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        return total / elapsed.TotalSeconds;
    }

    /// <summary>The embedded event log (fsynced segment files, 2 partitions) read through its consumer group by a runner.</summary>
    private static async Task<double> EndToEndOnEmbeddedLogAsync(BenchEvent[] events)
    {
        var dir = Path.Combine(Path.GetTempPath(), "engine-bench-log-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = dir, Partitions = 2 });
            return await EndToEndOnLogAsync(log, events, repeats: 2);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A Kafka topic on librdkafka's mock cluster (real protocol over loopback, 2 partitions) read through a consumer group.</summary>
    private static async Task<double> EndToEndOnKafkaAsync(BenchEvent[] events)
    {
        using var cluster = KafkaMockCluster.Start(brokers: 1);
        cluster.CreateTopic("engine-bench", 2);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(50));
        await using var log = await KafkaEventLog.OpenAsync(new KafkaLogOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            Topic = "engine-bench",
            Partitions = 2,
            ReplicationFactor = 1,
            CreateTopic = false,
        });

        // The mock cluster keeps a bounded amount of data per partition (older segments are dropped),
        // so this run reads 300,000 records rather than a million.
        return await EndToEndOnLogAsync(log, events[..300_000], repeats: 1);
    }

    /// <summary>
    /// Appends the events <paramref name="repeats"/> times (not timed), then times a runner reading them through an
    /// <see cref="EventLogSource"/> (consumer group, bounded to the ends at start) from the moment the group
    /// has assigned every partition until every partition has processed its last record.
    /// </summary>
    private static async Task<double> EndToEndOnLogAsync(IEventLog log, BenchEvent[] events, int repeats)
    {
        var batch = new List<LogMessage>(10_000);
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            foreach (var e in events)
            {
                var shifted = e with { Time = e.Time + (repeat * 1_000_000L) };
                var value = new byte[BenchEvent.Size];
                var key = new byte[8];
                shifted.Write(value);
                BinaryPrimitives.WriteUInt64LittleEndian(key, e.Key);
                batch.Add(new LogMessage(key, value, shifted.Time));
                if (batch.Count == batch.Capacity)
                {
                    await log.AppendAsync(batch);
                    batch = new List<LogMessage>(10_000);
                }
            }
        }

        if (batch.Count > 0)
        {
            await log.AppendAsync(batch);
        }

        var ends = new long[log.PartitionCount];
        for (var p = 0; p < ends.Length; p++)
        {
            ends[p] = (await log.GetOffsetsAsync(p)).End;
        }

        var dir = Path.Combine(Path.GetTempPath(), "engine-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, ReadBatchSize = 4096, CheckpointInterval = TimeSpan.FromSeconds(30) };
            var source = new EventLogSource(log, new EventLogSourceOptions { GroupId = "bench", EndAt = p => ends[p] });
            var runner = new StreamRunner<BenchEvent, ulong, BenchState, long>(new BenchJob(), options, source, new CountingSink(), new InMemorySideOutput(), new FileCheckpointStore(dir), name: "bench-e2e-log");
            source.Start(runner);
            while (runner.Assigned.Count < log.PartitionCount)
            {
                await Task.Delay(1);
            }

            // Timed from the moment the group has assigned every partition (joining is a one-off cost).
            var sw = Stopwatch.StartNew();
            await runner.WhenAllEndedAsync();
            var elapsed = sw.Elapsed;
            var processed = runner.Status().Sum(s => s.Processed);
            var read = runner.Status().Sum(s => s.Events);
            await source.DisposeAsync();
            await runner.DisposeAsync();
            if (read < ends.Sum())
            {
                throw new InvalidOperationException($"end-to-end benchmark read {read} of {ends.Sum()} records");
            }

            return processed / elapsed.TotalSeconds;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// A producer appends events stamped with the wall clock at a steady rate; the job records, per event,
    /// processing time minus (event time + bound): how long after the watermark could release it it was processed.
    /// </summary>
    private static async Task<double> LatencyP99Async()
    {
        var log = new InMemoryLog(1);
        var job = new BenchJob { RecordLatency = true };
        var dir = Path.Combine(Path.GetTempPath(), "engine-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, PollInterval = TimeSpan.FromMilliseconds(50) };
            await using var runner = new StreamRunner<BenchEvent, ulong, BenchState, long>(job, options, log, new CountingSink(), new InMemorySideOutput(), new FileCheckpointStore(dir), name: "bench-latency");
            await runner.AssignAsync([0], CancellationToken.None);
            var value = new byte[BenchEvent.Size];
            var key = new byte[8];
            uint seq = 0;
            var sw = Stopwatch.StartNew();
            var sent = 0L;
            while (sw.Elapsed < TimeSpan.FromSeconds(3))
            {
                // 50,000 events/s in 1 ms bursts of 50.
                var due = (long)(sw.Elapsed.TotalMilliseconds * 50);
                while (sent < due)
                {
                    var e = new BenchEvent((ulong)(sent % 10_000), 1, WallUs(), seq++);
                    e.Write(value);
                    BinaryPrimitives.WriteUInt64LittleEndian(key, e.Key);
                    log.Append(0, key, value);
                    sent++;
                }

                await Task.Delay(1);
            }

            log.Seal(0);
            await runner.WhenAllEndedAsync();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        // Skip the first half second (JIT, warm-up) and the tail released by the end of input.
        var samples = job.Latencies.Skip(25_000).SkipLast(5_000).Order().ToArray();
        return samples[(int)(samples.Length * 0.99)] / 1000.0;
    }

    private static async Task<(double CheckpointS, double PauseMs, double RecoveryS, double BytesPerKey)> CheckpointFiguresAsync()
    {
        const int million = 1_000_000;
        var dir = Path.Combine(Path.GetTempPath(), "engine-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, KeyGroupCount = 128 };
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var before = GC.GetTotalMemory(true);
            var task = NewTask(options, new CountingSink());
            for (var i = 0; i < million; i++)
            {
                task.ProcessEvent(new BenchEvent((ulong)i, 1, T0 + i, (uint)i), i);
            }

            // Move the watermark past every event but not to the window end, so each key keeps its timer.
            task.ProcessEvent(new BenchEvent(0, 1, T0 + million - 1 + Bound, million), million);

            // Every key now has state and one pending window timer.
            var store = new FileCheckpointStore(dir, retained: 2);
            using var writer = new SnapshotWriter(64 * 1024 * 1024);
            var pauses = new List<double>();
            var totals = new List<double>();
            for (var id = 1; id <= 3; id++)
            {
                var sw = Stopwatch.StartNew();
                var snapshot = task.BeginCheckpoint(id, options.CheckpointCopyChunk);
                while (!task.ContinueCheckpointCopy(options.CheckpointCopyChunk))
                {
                    // In a runner a batch of events is processed between steps.
                }

                pauses.Add(snapshot.LongestStep.TotalMilliseconds);
                writer.Reset();
                task.WriteCheckpoint(snapshot, writer);
                task.ReleaseSnapshot(snapshot);
                await store.SaveAsync(0, id, writer.WrittenMemory, CancellationToken.None);
                totals.Add(sw.Elapsed.TotalSeconds);
            }

            var after = GC.GetTotalMemory(true);
            var bytesPerKey = (after - before) / (double)million;
            if (task.KeyCount != million || task.TimerCount < million)
            {
                throw new InvalidOperationException($"expected {million} keys with timers, have {task.KeyCount} keys and {task.TimerCount} timers");
            }

            GC.KeepAlive(task);

            // Recovery: what a restarted process does before it processes again.
            var rsw = Stopwatch.StartNew();
            var data = await store.LoadLatestAsync(0, CancellationToken.None) ?? throw new InvalidOperationException("no checkpoint");
            var restored = NewTask(options, new CountingSink());
            restored.Restore(data.Payload);
            restored.ProcessEvent(new BenchEvent(7, 1, T0 + million + Bound, million + 1), million + 1);
            var recovery = rsw.Elapsed.TotalSeconds;
            if (restored.KeyCount != million)
            {
                throw new InvalidOperationException("restore lost keys");
            }

            return (totals.Skip(1).Average(), pauses.Skip(1).Max(), recovery, bytesPerKey);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long WallUs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    internal readonly record struct BenchEvent(ulong Key, ulong Source, long Time, uint Seq)
    {
        public const int Size = 28;

        public void Write(Span<byte> v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(v, Key);
            BinaryPrimitives.WriteUInt64LittleEndian(v[8..], Source);
            BinaryPrimitives.WriteInt64LittleEndian(v[16..], Time);
            BinaryPrimitives.WriteUInt32LittleEndian(v[24..], Seq);
        }

        public static BenchEvent Read(ReadOnlySpan<byte> v) => new(
            BinaryPrimitives.ReadUInt64LittleEndian(v),
            BinaryPrimitives.ReadUInt64LittleEndian(v[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(v[24..]));
    }

    internal struct BenchState
    {
        public long Count;
        public long Last;
    }

    /// <summary>Counts per key, with a one-second event-time window timer per key that emits the count.</summary>
    private sealed class BenchJob : StreamJob<BenchEvent, ulong, BenchState, long>
    {
        public bool RecordLatency { get; init; }

        public List<long> Latencies { get; } = new(200_000);

        public override bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out BenchEvent evt, out string? error)
        {
            if (value.Length != BenchEvent.Size)
            {
                evt = default;
                error = "wrong size";
                return false;
            }

            evt = BenchEvent.Read(value);
            error = null;
            return true;
        }

        public override ulong KeyOf(in BenchEvent evt) => evt.Key;

        public override ulong HashKey(in ulong key) => StableHash.Mix(key);

        public override long EventTimeOf(in BenchEvent evt) => evt.Time;

        public override ulong SourceOf(in BenchEvent evt) => evt.Source;

        public override int CompareSameTime(in BenchEvent a, in BenchEvent b)
        {
            var c = a.Source.CompareTo(b.Source);
            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        }

        public override void OnEvent(in BenchEvent evt, ref BenchState state, KeyedContext<ulong, long> context)
        {
            state.Count++;
            state.Last = Math.Max(state.Last, evt.Time);
            context.RegisterEventTimer(((evt.Time / 1_000_000) + 1) * 1_000_000);
            if (RecordLatency)
            {
                Latencies.Add(WallUs() - (evt.Time + Bound));
            }
        }

        public override void OnTimer(TimerDomain domain, ref BenchState state, KeyedContext<ulong, long> context)
        {
            context.Emit(state.Count);
        }

        public override void WriteKey(SnapshotWriter writer, in ulong key) => writer.WriteUInt64(key);

        public override ulong ReadKey(ref SnapshotReader reader) => reader.ReadUInt64();

        public override void WriteState(SnapshotWriter writer, in BenchState state)
        {
            var s = writer.Span(16);
            BinaryPrimitives.WriteInt64LittleEndian(s, state.Count);
            BinaryPrimitives.WriteInt64LittleEndian(s[8..], state.Last);
        }

        public override BenchState ReadState(ref SnapshotReader reader) => new() { Count = reader.ReadInt64(), Last = reader.ReadInt64() };

        public override void WriteEvent(SnapshotWriter writer, in BenchEvent evt) => evt.Write(writer.Span(BenchEvent.Size));

        public override BenchEvent ReadEvent(ref SnapshotReader reader) => BenchEvent.Read(reader.ReadRaw(BenchEvent.Size));
    }

    private sealed class CountingSink : IOutputSink<ulong, long>
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public void Write(in Output<ulong, long> output) => Interlocked.Increment(ref _count);

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
