using System.Diagnostics;
using System.Runtime.CompilerServices;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Tracking;
using EdgeStream.Tracking.Storage;
using EdgeStream.Tracking.Storage.Postgres;
using EdgeStream.Tracking.Storage.Sqlite;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Tracking figures: the tracking job on the engine (one core, a million assets, records decoded as the
/// log holds them), the job's state per asset, where/history queries on a database of a million assets
/// and 30 days of history (embedded and PostgreSQL), the whole cloud process end to end (MQTT ingest →
/// log → job → embedded database), and the same tracking logic as a Streamiz.Kafka.Net topology.
/// </summary>
/// <remarks>
/// <c>TRACKING_BENCH=job,state,query,pg,latency,e2e,peer</c> runs only those groups; <c>TRACKING_BENCH_ASSETS</c>
/// (default 1,000,000), <c>TRACKING_BENCH_INTERVALS</c> (history intervals per asset over the 30 days,
/// default 10) and <c>TRACKING_BENCH_BUSY</c> (assets that move every 30 minutes for the 30 days,
/// default 1,000) size the query database.
/// </remarks>
public sealed class TrackingSuite : IBenchmarkSuite
{
    internal const long T0 = 1_767_225_600_000_000; // 2026-01-01
    internal const int Gateways = 8;
    internal static readonly string[] Zones = [.. Enumerable.Range(0, 24).Select(i => "zone-" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture))];

    public string Name => "tracking";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var only = Environment.GetEnvironmentVariable("TRACKING_BENCH")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool Selected(string group) => only is null || only.Length == 0 || only.Contains(group, StringComparer.OrdinalIgnoreCase);
        var assets = int.Parse(Environment.GetEnvironmentVariable("TRACKING_BENCH_ASSETS") ?? "1000000", System.Globalization.CultureInfo.InvariantCulture);
        var intervals = int.Parse(Environment.GetEnvironmentVariable("TRACKING_BENCH_INTERVALS") ?? "10", System.Globalization.CultureInfo.InvariantCulture);
        var busy = int.Parse(Environment.GetEnvironmentVariable("TRACKING_BENCH_BUSY") ?? "1000", System.Globalization.CultureInfo.InvariantCulture);

        if (Selected("job") || Selected("peer"))
        {
            var input = TrackingInput.Create(assets: 1_000_000, events: 4_000_000, seed: 3);
            if (Selected("job"))
            {
                var (records, decoded) = JobThroughput(input);
                yield return new Figure("tracking.job.events_per_s", records, "events/s");
                yield return new Figure("tracking.job.decoded.events_per_s", decoded, "events/s");
            }

            if (Selected("peer"))
            {
                var (peer, ours) = StreamizPeer.Compare(input, events: 400_000);
                yield return new Figure("tracking.peer.streamiz.events_per_s", peer, "events/s");
                yield return new Figure("tracking.peer.ours_same_input.events_per_s", ours, "events/s");
                yield return new Figure("tracking.peer.ratio", ours / peer, "ratio");
            }
        }

        if (Selected("state"))
        {
            yield return new Figure("tracking.state_bytes_per_asset", StateBytesPerAsset(1_000_000), "bytes");
        }

        if (Selected("query"))
        {
            var dir = Directory.CreateTempSubdirectory("edgestream-bench-tracking-").FullName;
            try
            {
                await using var store = SqliteTrackingStore.Open(Path.Combine(dir, "tracking.db"));
                foreach (var f in await QueryFiguresAsync(store, "tracking", assets, intervals, busy, cancellationToken))
                {
                    yield return f;
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        if (Selected("pg"))
        {
            await using var server = new BenchPostgres();
            await server.StartAsync();
            await using var store = PostgresTrackingStore.Open(server.ConnectionString);
            foreach (var f in await QueryFiguresAsync(store, "tracking.pg", assets, intervals, busy, cancellationToken, server.AnalyzeAsync))
            {
                yield return f;
            }
        }

        if (Selected("latency"))
        {
            var seconds = int.Parse(Environment.GetEnvironmentVariable("TRACKING_BENCH_LATENCY_SECONDS") ?? "60", System.Globalization.CultureInfo.InvariantCulture);
            foreach (var f in await TrackingLatency.RunAsync(TimeSpan.FromSeconds(seconds), cancellationToken))
            {
                yield return f;
            }
        }

        if (Selected("e2e"))
        {
            foreach (var f in await TrackingEndToEnd.RunAsync(events: int.Parse(Environment.GetEnvironmentVariable("TRACKING_BENCH_E2E_EVENTS") ?? "3000000", System.Globalization.CultureInfo.InvariantCulture), cancellationToken))
            {
                yield return f;
            }
        }
    }

    /// <summary>
    /// One engine task on this thread runs the tracking job over encoded log records (decode included, as
    /// a worker reads them), then over the same events already decoded. Each pass continues in event time.
    /// </summary>
    private static (double Records, double Decoded) JobThroughput(TrackingInput input)
    {
        var sink = new CountingSink<Epc, TrackingOutput>();
        var job = new TrackingJob(new NameTable(), new NameTable());
        var options = new EngineOptions { OutOfOrdernessUs = 500_000, AllowedLatenessUs = 60_000_000 };
        var task = new StreamTask<TrackingEvent, Epc, TagState, TrackingOutput>(job, options, 0, sink, new InMemorySideOutput());
        var pass = 0;
        long offset = 0;
        var encoded = input;
        var records = Measure.Throughput(
            () =>
            {
                for (var i = 0; i < encoded.Count; i++)
                {
                    encoded.Record(i, out var k, out var v);
                    task.ProcessRecord(offset++, k, v);
                }

                return encoded.Count;
            },
            TimeSpan.FromSeconds(6),
            TimeSpan.FromSeconds(2),
            prepare: () => encoded = input.Encoded(pass++));
        if (task.Counters.Late != 0 || task.Counters.Malformed != 0 || sink.Count == 0)
        {
            throw new InvalidOperationException($"tracking job benchmark is not measuring what it claims: late {task.Counters.Late}, malformed {task.Counters.Malformed}, outputs {sink.Count}");
        }

        var decodedJob = new TrackingJob(new NameTable(), new NameTable());
        var decodedTask = new StreamTask<TrackingEvent, Epc, TagState, TrackingOutput>(decodedJob, options, 0, new CountingSink<Epc, TrackingOutput>(), new InMemorySideOutput());
        var events = input.Decode(decodedJob);
        var batch = new TrackingEvent[options.ReadBatchSize];
        pass = 0;
        offset = 0;
        var decoded = Measure.Throughput(
            () =>
            {
                var shift = input.Span * pass++;
                for (var i = 0; i < events.Length; i += batch.Length)
                {
                    var n = Math.Min(batch.Length, events.Length - i);
                    for (var j = 0; j < n; j++)
                    {
                        batch[j] = events[i + j] with { TimeUs = events[i + j].TimeUs + shift };
                    }

                    decodedTask.ProcessEvents(batch.AsSpan(0, n), offset);
                    offset += n;
                }

                return events.Length;
            },
            TimeSpan.FromSeconds(6),
            TimeSpan.FromSeconds(2));
        return (records, decoded);
    }

    /// <summary>Managed heap per asset with state in the job's task: a million tags, each placed once.</summary>
    private static double StateBytesPerAsset(int assets)
    {
        var job = new TrackingJob(new NameTable(), new NameTable());
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var key = new byte[12];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var task = new StreamTask<TrackingEvent, Epc, TagState, TrackingOutput>(job, new EngineOptions { OutOfOrdernessUs = 500_000 }, 0, new CountingSink<Epc, TrackingOutput>(), new InMemorySideOutput());
        for (var i = 0; i < assets; i++)
        {
            var epc = TrackingInput.Tag(i);
            epc.CopyTo(key);
            var n = LogRecordCodec.EncodePresence("gw-" + (i % Gateways), (ulong)i, 0, 1, new PresenceEvent { Epc = epc, Kind = PresenceKind.Arrive, Zone = Zones[i % Zones.Length], EventTimeUs = T0 + i, ReadCount = 3 }, buffer);
            task.ProcessRecord(i, key, buffer.AsSpan(0, n));
        }

        task.EndOfInput();
        if (task.KeyCount != assets)
        {
            throw new InvalidOperationException($"state benchmark holds {task.KeyCount} keys, not {assets}");
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(task);
        return (after - before) / (double)assets;
    }

    /// <summary>
    /// Fills the store through its own write path (the batches the sink applies), then times single
    /// queries as the API makes them: where an asset is, its history, where it was at a time, and a page
    /// of a zone's assets. The database holds 30 days: every asset has <paramref name="intervals"/>
    /// intervals spread over them, and <paramref name="busy"/> more assets move every 30 minutes for the
    /// whole 30 days (1,440 intervals each), the assets whose history a screen pages through.
    /// </summary>
    private static async Task<IReadOnlyList<Figure>> QueryFiguresAsync(ITrackingStore store, string prefix, int assets, int intervals, int busy, CancellationToken ct, Func<Task>? afterFill = null)
    {
        await store.MigrateAsync(ct);
        const long day = 86_400_000_000;
        const long busyStep = 30 * 60_000_000L;
        const int busyIntervals = 30 * 48;
        var step = 30 * day / intervals;
        var fill = Stopwatch.StartNew();
        var writer = new PlacementWriter(store, prefix, ct);
        for (var k = 0; k < intervals; k++)
        {
            for (var i = 0; i < assets; i++)
            {
                await writer.AddAsync(i, k, T0 + (k * step) + (i * (step / 2 / assets)));
            }
        }

        for (var k = 0; k < busyIntervals; k++)
        {
            for (var j = 0; j < busy; j++)
            {
                await writer.AddAsync(assets + j, k, T0 + (k * busyStep) + (j * (busyStep / 2 / Math.Max(1, busy))));
            }
        }

        var rows = await writer.FlushAsync();
        var fillRate = rows / fill.Elapsed.TotalSeconds;

        // Statistics as autovacuum would have them on a database that has been running, not as they
        // are a second after a bulk load (PostgreSQL would plan as if history were empty).
        if (afterFill is not null)
        {
            await afterFill();
        }

        await Console.Error.WriteLineAsync($"# {prefix}: {assets + busy:N0} assets ({busy:N0} busy), {rows:N0} placements over 30 days written in {fill.Elapsed.TotalSeconds:F0} s");

        var rng = new Random(5);
        var where = await TimeAsync(2000, async () =>
        {
            var a = await store.GetAssetAsync(TrackingInput.Tag(rng.Next(assets)).ToString(), ct) ?? throw new InvalidOperationException("an asset is missing");
            if (a.Location.Zone is null)
            {
                throw new InvalidOperationException("an asset has no zone");
            }
        });
        var history = await TimeAsync(2000, async () =>
        {
            var page = await store.HistoryAsync(TrackingInput.Tag(rng.Next(assets)).ToString(), T0, T0 + (31 * day), 100, null, ct);
            if (page.Items.Count != intervals)
            {
                throw new InvalidOperationException($"history has {page.Items.Count} intervals, not {intervals}");
            }
        });
        var figures = new List<Figure>
        {
            new(prefix + ".query.where_p50_ms", where.P50, "ms"),
            new(prefix + ".query.where_p99_ms", where.P99, "ms"),
            new(prefix + ".query.history_p50_ms", history.P50, "ms"),
            new(prefix + ".query.history_p99_ms", history.P99, "ms"),
        };

        if (busy > 0)
        {
            // A busy asset's whole 30 days, first page of 100; one day of it (48 intervals); where it was at a random time.
            var month = await TimeAsync(2000, async () =>
            {
                var page = await store.HistoryAsync(TrackingInput.Tag(assets + rng.Next(busy)).ToString(), T0, T0 + (31 * day), 100, null, ct);
                if (page.Items.Count != 100 || page.Next is null)
                {
                    throw new InvalidOperationException($"a busy asset's 30 days gave a page of {page.Items.Count}, next {page.Next ?? "null"}");
                }
            });
            var oneDay = await TimeAsync(2000, async () =>
            {
                var from = T0 + (rng.Next(1, 29) * day);
                var page = await store.HistoryAsync(TrackingInput.Tag(assets + rng.Next(busy)).ToString(), from, from + day, 100, null, ct);
                if (page.Items.Count is < 48 or > 50)
                {
                    throw new InvalidOperationException($"a busy asset's day has {page.Items.Count} intervals");
                }
            });
            var at = await TimeAsync(2000, async () =>
            {
                var t = T0 + (long)(rng.NextDouble() * 29 * day) + day;
                _ = await store.WhereAtAsync(TrackingInput.Tag(assets + rng.Next(busy)).ToString(), t, ct) ?? throw new InvalidOperationException("a busy asset was nowhere");
            });
            figures.Add(new(prefix + ".query.history_30d_page_p99_ms", month.P99, "ms"));
            figures.Add(new(prefix + ".query.history_day_p99_ms", oneDay.P99, "ms"));
            figures.Add(new(prefix + ".query.at_p99_ms", at.P99, "ms"));
        }

        var zoneIds = new List<long>();
        foreach (var z in Zones)
        {
            zoneIds.Add((await store.FindZoneAsync(z, ct))!.Id);
        }

        var zonePage = await TimeAsync(500, async () =>
        {
            var page = await store.ListAssetsAsync(new AssetFilter(ZoneId: zoneIds[rng.Next(zoneIds.Count)]), 100, null, ct);
            if (page.Items.Count == 0)
            {
                throw new InvalidOperationException("a zone has no assets");
            }
        });
        figures.Add(new(prefix + ".query.zone_page_p99_ms", zonePage.P99, "ms"));
        figures.Add(new(prefix + ".db.placements_per_s", fillRate, "rows/s"));
        return figures;
    }

    /// <summary>Placements in batches of 10,000 through the store, with a progress line every million.</summary>
    private sealed class PlacementWriter(ITrackingStore store, string prefix, CancellationToken ct)
    {
        private readonly List<PlacementRecord> _batch = new(10_000);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _rows;

        public async Task AddAsync(int asset, int k, long timeUs)
        {
            var epc = TrackingInput.Tag(asset).ToString();
            _batch.Add(new PlacementRecord(epc, Zones[(asset + k) % Zones.Length], null, timeUs, "gw-" + (asset % Gateways), $"gw-{asset % Gateways}/{k}/{asset}", false, $"b-{k}-{asset}"));
            if (_batch.Count == _batch.Capacity)
            {
                await FlushAsync();
            }
        }

        public async Task<long> FlushAsync()
        {
            if (_batch.Count > 0)
            {
                await store.ApplyAsync(new TrackingBatch([.. _batch], [], []), ct);
                var before = _rows;
                _rows += _batch.Count;
                _batch.Clear();
                if (_rows / 1_000_000 != before / 1_000_000)
                {
                    await Console.Error.WriteLineAsync($"# {prefix}: {_rows:N0} placements in {_clock.Elapsed.TotalSeconds:F0} s");
                }
            }

            return _rows;
        }
    }

    private static async Task<(double P50, double P99)> TimeAsync(int n, Func<Task> query)
    {
        for (var i = 0; i < 50; i++)
        {
            await query();
        }

        var samples = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            await query();
            samples[i] = sw.Elapsed.TotalMilliseconds;
        }

        Array.Sort(samples);
        return (samples[n / 2], samples[(int)(n * 0.99)]);
    }
}

/// <summary>
/// The job benchmark's input: tags moving between zones and being read, from several gateways, nearly
/// in event-time order (shuffled within 80 % of the out-of-orderness bound, as links deliver them),
/// encoded as log records. Half are reads, half presence events.
/// </summary>
internal sealed class TrackingInput
{
    private readonly byte[] _data;
    private readonly (int KeyStart, int ValueStart, int End)[] _index;
    private readonly long[] _times;
    private readonly (int Tag, int Gateway, bool Read, int Zone, ulong Sequence)[] _what;

    private TrackingInput(byte[] data, (int, int, int)[] index, long[] times, (int, int, bool, int, ulong)[] what, long span)
    {
        _data = data;
        _index = index;
        _times = times;
        _what = what;
        Span = span;
    }

    public int Count => _index.Length;

    /// <summary>Event time one pass covers; pass k is shifted by k × this.</summary>
    public long Span { get; }

    public static Epc Tag(int i)
    {
        Span<byte> b = stackalloc byte[12];
        b[0] = 0x30;
        b[1] = 0x34;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(b[4..], i);
        return Epc.FromBytes(b);
    }

    public static TrackingInput Create(int assets, int events, int seed)
    {
        var rng = new Random(seed);
        var list = new (long Time, long Arrival, int Tag, int Gateway, bool Read, int Zone)[events];
        var t = TrackingSuite.T0;
        for (var i = 0; i < events; i++)
        {
            t += rng.Next(0, 2); // ~0.5 µs apart: 4 M events span about 2 s of event time
            var tag = rng.Next(assets);
            list[i] = (t, t + (long)(rng.NextDouble() * 400_000), tag, tag % TrackingSuite.Gateways, rng.Next(2) == 0, rng.Next(TrackingSuite.Zones.Length));
        }

        Array.Sort(list, (a, b) => a.Arrival.CompareTo(b.Arrival));
        var seqs = new ulong[TrackingSuite.Gateways];
        var what = new (int, int, bool, int, ulong)[events];
        var times = new long[events];
        for (var i = 0; i < events; i++)
        {
            var e = list[i];
            what[i] = (e.Tag, e.Gateway, e.Read, e.Zone, ++seqs[e.Gateway]);
            times[i] = e.Time;
        }

        var span = list.Max(e => e.Time) - TrackingSuite.T0 + 1_000_000;
        var input = new TrackingInput(new byte[(long)events * 80], new (int, int, int)[events], times, what, span);
        input.EncodeAll(0);
        return input;
    }

    /// <summary>The records of pass <paramref name="pass"/> (re-encoded with times moved on).</summary>
    public TrackingInput Encoded(int pass)
    {
        if (pass > 0)
        {
            EncodeAll(Span * pass);
        }

        return this;
    }

    public (ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value) RecordMemory(int i)
    {
        var (k, v, e) = _index[i];
        return (_data.AsMemory(k, v - k), _data.AsMemory(v, e - v));
    }

    public void Record(int i, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var (k, v, e) = _index[i];
        key = _data.AsSpan(k, v - k);
        value = _data.AsSpan(v, e - v);
    }

    /// <summary>The events decoded once, as the job would decode them.</summary>
    public TrackingEvent[] Decode(TrackingJob job)
    {
        var result = new TrackingEvent[Count];
        for (var i = 0; i < Count; i++)
        {
            Record(i, out var k, out var v);
            if (!job.TryDecode(k, v, out result[i], out var error))
            {
                throw new InvalidOperationException(error);
            }
        }

        return result;
    }

    /// <summary>What record <paramref name="i"/> says, for the peer's own encoding.</summary>
    public (int Tag, int Gateway, bool Read, int Zone, ulong Sequence, long Time) What(int i)
    {
        var w = _what[i];
        return (w.Tag, w.Gateway, w.Read, w.Zone, w.Sequence, _times[i]);
    }

    private static readonly string[] GatewayIds = [.. Enumerable.Range(0, TrackingSuite.Gateways).Select(g => "gw-" + g)];

    private void EncodeAll(long shift)
    {
        var pos = 0;
        for (var i = 0; i < _what.Length; i++)
        {
            var (tag, gw, read, zone, seq) = _what[i];
            var epc = Tag(tag);
            var keyStart = pos;
            pos += epc.CopyTo(_data.AsSpan(pos));
            var valueStart = pos;
            var time = _times[i] + shift;
            pos += read
                ? LogRecordCodec.EncodeRead(GatewayIds[gw], seq, 0, 1, new TagRead { Epc = epc, ReaderId = "r1", Antenna = (ushort)(1 + (zone % 4)), RssiCentiDbm = -5500, EventTimeUs = time, Source = SourceKind.Llrp }, _data.AsSpan(pos), time + 200_000, 0)
                : LogRecordCodec.EncodePresence(GatewayIds[gw], seq, 0, 1, new PresenceEvent { Epc = epc, Kind = PresenceKind.Move, Zone = TrackingSuite.Zones[zone], EventTimeUs = time, ReadCount = 3 }, _data.AsSpan(pos), time + 200_000, 0);
            _index[i] = (keyStart, valueStart, pos);
        }
    }
}

/// <summary>Counts outputs and keeps nothing.</summary>
internal sealed class CountingSink<TKey, TOutput> : IOutputSink<TKey, TOutput>
{
    public long Count { get; private set; }

    public void Write(in Output<TKey, TOutput> output) => Count++;

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
