using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeStream.Engine;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.Sources.EventLog;
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

        // ENGINE_BENCH=latency,kafka runs only those groups (throughput, e2e, embedded, kafka, latency, checkpoint); unset: all.
        var only = Environment.GetEnvironmentVariable("ENGINE_BENCH")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool Selected(string group) => only is null || only.Length == 0 || only.Contains(group, StringComparer.OrdinalIgnoreCase);
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
            offset = FeedTask(task, events, batch, shift, offset);
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

        if (Selected("e2e"))
        {
            yield return new Figure("engine.e2e.events_per_s", await EndToEndAsync(events), "events/s");
        }

        if (Selected("embedded"))
        {
            var (rate, cpu) = await EndToEndOnEmbeddedLogAsync(events);
            yield return new Figure("engine.e2e.embedded.events_per_s", rate, "events/s");
            yield return new Figure("engine.e2e.embedded.cpu_us_per_event", cpu, "us");
        }

        if (Selected("kafka"))
        {
            var (rate, cpu) = await EndToEndOnKafkaAsync(events);
            yield return new Figure("engine.e2e.kafka.events_per_s", rate, "events/s");
            yield return new Figure("engine.e2e.kafka.cpu_us_per_event", cpu, "us");
        }

        if (Selected("latency"))
        {
            foreach (var figure in await LatencyAsync())
            {
                yield return figure;
            }
        }

        if (Selected("checkpoint"))
        {
            var (checkpointS, pauseMs, recoveryS, bytesPerKey) = await CheckpointFiguresAsync();
            yield return new Figure("engine.checkpoint_1m_keys_s", checkpointS, "s");
            yield return new Figure("engine.checkpoint_pause_ms", pauseMs, "ms");
            yield return new Figure("engine.recovery_s", recoveryS, "s");
            yield return new Figure("engine.bytes_per_key", bytesPerKey, "bytes");
        }
    }

    private delegate void BatchHandler(ReadOnlySpan<BenchEvent> batch);

    /// <summary>
    /// One pass over <paramref name="events"/> in batches of <paramref name="batch"/>'s length, as a runner
    /// hands a task decoded records, with event times moved on by <paramref name="shift"/> so that each pass of
    /// a measurement continues in event time where the previous one ended.
    /// </summary>
    private static void FeedShifted(BenchEvent[] events, BenchEvent[] batch, long shift, BatchHandler handle)
    {
        for (var i = 0; i < events.Length; i += batch.Length)
        {
            var n = Math.Min(batch.Length, events.Length - i);
            for (var j = 0; j < n; j++)
            {
                var e = events[i + j];
                batch[j] = new BenchEvent(e.Key, e.Source, e.Time + shift, e.Seq);
            }

            handle(batch.AsSpan(0, n));
        }
    }

    /// <summary>Feeds one shifted pass of the events to a task as consecutive offsets from <paramref name="offset"/>; returns the next offset.</summary>
    private static long FeedTask(StreamTask<BenchEvent, ulong, BenchState, long> task, BenchEvent[] events, BenchEvent[] batch, long shift, long offset)
    {
        FeedShifted(events, batch, shift, b =>
        {
            task.ProcessEvents(b, offset);
            offset += b.Length;
        });
        return offset;
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
    private static async Task<(double Rate, double CpuUsPerEvent)> EndToEndOnEmbeddedLogAsync(BenchEvent[] events)
    {
        // A first run brings the read and decode path to its final code tier, and the timed run starts once the
        // tiered compiler has finished with it: without both, whether that work fell inside the timed run moved
        // the figure between 3 and 8 million events/s.
        await OnEmbeddedLogAsync(events, repeats: 2, "engine.e2e.embedded.warm-up");
        await JitQuietAsync();
        return await OnEmbeddedLogAsync(events, repeats: 4, "engine.e2e.embedded");
    }

    /// <summary>Waits until no method has been compiled for 250 ms (at most 10 s).</summary>
    private static async Task JitQuietAsync()
    {
        var clock = Stopwatch.StartNew();
        var count = System.Runtime.JitInfo.GetCompiledMethodCount();
        var quietSince = clock.Elapsed;
        while (clock.Elapsed - quietSince < TimeSpan.FromMilliseconds(250) && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != count)
            {
                count = now;
                quietSince = clock.Elapsed;
            }
        }
    }

    private static async Task<(double Rate, double CpuUsPerEvent)> OnEmbeddedLogAsync(BenchEvent[] events, int repeats, string label)
    {
        var dir = Path.Combine(Path.GetTempPath(), "engine-bench-log-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = dir, Partitions = 2 });
            return await EndToEndOnLogAsync(log, events, repeats, label);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A Kafka topic on librdkafka's mock cluster (real protocol over loopback, 2 partitions) read through a consumer group.</summary>
    private static async Task<(double Rate, double CpuUsPerEvent)> EndToEndOnKafkaAsync(BenchEvent[] events)
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
        return await EndToEndOnLogAsync(log, events[..300_000], repeats: 1, "engine.e2e.kafka");
    }

    /// <summary>
    /// Appends the events <paramref name="repeats"/> times (not timed), then times a runner reading them through an
    /// <see cref="EventLogSource"/> (consumer group, bounded to the ends at start) from the moment the group
    /// has assigned every partition until every partition has processed its last record.
    /// </summary>
    private static async Task<(double Rate, double CpuUsPerEvent)> EndToEndOnLogAsync(IEventLog log, BenchEvent[] events, int repeats, string label)
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
            var threads = ThreadCpu.Snapshot();
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var sw = Stopwatch.StartNew();
            await runner.WhenAllEndedAsync();
            var elapsed = sw.Elapsed;
            var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
            await Console.Error.WriteLineAsync($"# {label}: {cpu.TotalSeconds:F2} s of CPU in {elapsed.TotalSeconds:F2} s; by thread: {ThreadCpu.Since(threads)}");
            var processed = runner.Status().Sum(s => s.Processed);
            var read = runner.Status().Sum(s => s.Events);
            await source.DisposeAsync();
            await runner.DisposeAsync();
            if (read < ends.Sum())
            {
                throw new InvalidOperationException($"end-to-end benchmark read {read} of {ends.Sum()} records");
            }

            return (processed / elapsed.TotalSeconds, cpu.TotalMicroseconds / processed);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// A producer appends events stamped with the wall clock at a steady rate; per event, the job records how
    /// long after the event time plus the out-of-orderness bound it was processed (the definition,
    /// <c>engine.latency_*</c>: it includes the wait for the next record, which is what lets the watermark
    /// pass the event), and how long after the log held that record (the engine's own delay,
    /// <c>engine.latency.from_release_*</c>); see <see cref="LatencyProbe"/>.
    /// Besides the percentiles, the figures show what else happened meanwhile: the producer's gaps between
    /// bursts, the garbage collector's collections and pauses, and the time this process waited for a core.
    /// </summary>
    private static async Task<IReadOnlyList<Figure>> LatencyAsync()
    {
        var log = new InMemoryLog(1);
        var probe = new LatencyProbe(200_000);
        var job = new BenchJob { Probe = probe };
        var dir = Path.Combine(Path.GetTempPath(), "engine-bench-" + Guid.NewGuid().ToString("N"));
        var gaps = new List<double>(10_000);
        var gcCount = 0;
        var gcPause = TimeSpan.Zero;
        var runQueueWait = TimeSpan.Zero;
        try
        {
            var options = new EngineOptions { OutOfOrdernessUs = Bound, AllowedLatenessUs = 0, PollInterval = TimeSpan.FromMilliseconds(50) };
            await using var runner = new StreamRunner<BenchEvent, ulong, BenchState, long>(job, options, log, new CountingSink(), new InMemorySideOutput(), new FileCheckpointStore(dir), name: "bench-latency");
            await runner.AssignAsync([0], CancellationToken.None);

            // The earlier figures' garbage is collected now, not during this run.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var gcBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
            var pauseBefore = GC.GetTotalPauseDuration();
            var waitBefore = ThreadCpu.RunQueueWaitNs();
            var produced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var producer = new Thread(() =>
            {
                try
                {
                    Produce(log, probe, gaps);
                    produced.SetResult();
                }
                catch (Exception ex)
                {
                    produced.SetException(ex);
                }
            })
            { IsBackground = true, Name = "latency-producer" };
            producer.Start();
            await produced.Task;
            gcCount = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2) - gcBefore;
            gcPause = GC.GetTotalPauseDuration() - pauseBefore;
            runQueueWait = TimeSpan.FromMicroseconds((ThreadCpu.RunQueueWaitNs() - waitBefore) / 1000.0);
            log.Seal(0);
            await runner.WhenAllEndedAsync();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        // Skip the first half second (JIT, warm-up) and the tail released by the end of input.
        var samples = probe.SinceBound.Skip(25_000).SkipLast(5_000).Order().ToArray();
        var engine = probe.SinceRelease.Skip(25_000).SkipLast(5_000).Order().ToArray();
        static double Pct(long[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * q))] / 1000.0;
        gaps.Sort();
        return
        [
            new Figure("engine.latency_p50_ms", Pct(samples, 0.50), "ms"),
            new Figure("engine.latency_p99_ms", Pct(samples, 0.99), "ms"),
            new Figure("engine.latency_max_ms", samples[^1] / 1000.0, "ms"),
            new Figure("engine.latency.from_release_p50_ms", Pct(engine, 0.50), "ms"),
            new Figure("engine.latency.from_release_p90_ms", Pct(engine, 0.90), "ms"),
            new Figure("engine.latency.from_release_p99_ms", Pct(engine, 0.99), "ms"),
            new Figure("engine.latency.from_release_max_ms", engine[^1] / 1000.0, "ms"),
            new Figure("engine.latency.producer_gap_p50_ms", gaps[gaps.Count / 2], "ms"),
            new Figure("engine.latency.producer_gap_p99_ms", gaps[(int)(gaps.Count * 0.99)], "ms"),
            new Figure("engine.latency.producer_gap_max_ms", gaps[^1], "ms"),
            new Figure("engine.latency.gc_collections", gcCount, "collections"),
            new Figure("engine.latency.gc_pause_ms", gcPause.TotalMilliseconds, "ms"),
            new Figure("engine.latency.run_queue_wait_ms", runQueueWait.TotalMilliseconds, "ms"),
        ];
    }

    /// <summary>
    /// 50,000 events/s for 3 s in bursts of about 50 every millisecond, on a thread of its own paced by
    /// <see cref="Thread.Sleep(int)"/> (about 1.1 ms here): a timer-driven <c>Task.Delay(1)</c> slept about
    /// 4.4 ms between bursts on this machine, and every event waited for the next burst to be released.
    /// </summary>
    private static void Produce(InMemoryLog log, LatencyProbe probe, List<double> gaps)
    {
        var value = new byte[BenchEvent.Size];
        var key = new byte[8];
        uint seq = 0;
        var sw = Stopwatch.StartNew();
        var sent = 0L;
        var lastBurst = TimeSpan.Zero;
        while (sw.Elapsed < TimeSpan.FromSeconds(3))
        {
            var now = sw.Elapsed;
            if (now > TimeSpan.FromSeconds(0.5))
            {
                gaps.Add((now - lastBurst).TotalMilliseconds);
            }

            lastBurst = now;
            var due = (long)(now.TotalMilliseconds * 50);
            while (sent < due)
            {
                var e = new BenchEvent((ulong)(sent % 10_000), 1, WallUs(), seq++);
                probe.Appending(e.Time);
                e.Write(value);
                BinaryPrimitives.WriteUInt64LittleEndian(key, e.Key);
                log.Append(0, key, value);
                sent++;
            }

            Thread.Sleep(1);
        }
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

    /// <summary>CPU time of this process's threads by name, from /proc (Linux); empty elsewhere.</summary>
    private static class ThreadCpu
    {
        public static Dictionary<int, (string Name, long Ticks)> Snapshot()
        {
            var all = new Dictionary<int, (string, long)>();
            if (!Directory.Exists("/proc/self/task"))
            {
                return all;
            }

            foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var open = stat.IndexOf('(', StringComparison.Ordinal);
                    var close = stat.LastIndexOf(')');
                    var fields = stat[(close + 2)..].Split(' ');
                    all[int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture)] =
                        (stat[(open + 1)..close], long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture));
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            return all;
        }

        /// <summary>
        /// Nanoseconds this process's threads have spent runnable but waiting for a core (schedstat), summed;
        /// 0 where /proc does not say. Time the machine's other work took from a run.
        /// </summary>
        public static long RunQueueWaitNs()
        {
            if (!Directory.Exists("/proc/self/task"))
            {
                return 0;
            }

            long total = 0;
            foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    var fields = File.ReadAllText(Path.Combine(dir, "schedstat")).Split(' ');
                    total += long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            return total;
        }

        /// <summary>Seconds of CPU per thread name since <paramref name="before"/>, largest first (clock ticks of 10 ms).</summary>
        public static string Since(Dictionary<int, (string Name, long Ticks)> before)
        {
            var used = Snapshot()
                .Select(t => (t.Value.Name, Ticks: t.Value.Ticks - (before.TryGetValue(t.Key, out var b) && b.Name == t.Value.Name ? b.Ticks : 0)))
                .Where(t => t.Ticks > 0)
                .GroupBy(t => t.Name)
                .Select(g => (Name: g.Key, Seconds: g.Sum(t => t.Ticks) / 100.0))
                .OrderByDescending(t => t.Seconds);
            return string.Join(", ", used.Select(t => $"{t.Name} {t.Seconds:F2} s"));
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
        public LatencyProbe? Probe { get; init; }

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
            Probe?.Processed(evt.Time);
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

    /// <summary>
    /// What the latency run records. The producer notes each event's stamp (its wall-clock event time, taken
    /// just before the append) in order; when the job processes an event of time t it records two delays:
    /// since t + bound (the earliest a bounded-out-of-orderness watermark could pass t), and since the append
    /// of the first record stamped at or after t + bound, the record that lets the watermark pass t. The
    /// difference between the two is the input's own gap (no record arrived in between), not the engine's.
    /// The stamp is taken before the append, so a producer held up between the two is counted against
    /// the engine: the figure errs on the engine's side, never in its favour.
    /// </summary>
    internal sealed class LatencyProbe(int capacity)
    {
        private readonly long[] _stamps = new long[capacity];
        private int _count;

        public List<long> SinceBound { get; } = new(capacity);

        public List<long> SinceRelease { get; } = new(capacity);

        /// <summary>Producer side: the stamp of the next record, noted before it is appended.</summary>
        public void Appending(long stamp)
        {
            _stamps[_count] = stamp;
            Volatile.Write(ref _count, _count + 1);
        }

        /// <summary>Engine side (the job's callback): an event of time <paramref name="time"/> is processed now.</summary>
        public void Processed(long time)
        {
            var now = WallUs();
            var due = time + Bound;
            SinceBound.Add(now - due);
            var n = Volatile.Read(ref _count);
            var i = Array.BinarySearch(_stamps, 0, n, due);
            if (i < 0)
            {
                i = ~i;
            }

            // Events released by the end of input have no releasing record; they are not counted here.
            if (i < n)
            {
                SinceRelease.Add(now - _stamps[i]);
            }
        }
    }

    private sealed class CountingSink : IOutputSink<ulong, long>
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public void Write(in Output<ulong, long> output) => Interlocked.Increment(ref _count);

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
