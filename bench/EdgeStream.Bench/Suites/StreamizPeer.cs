using System.Buffers.Binary;
using System.Diagnostics;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Tracking;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// The tracking job's rules written as a Streamiz.Kafka.Net (1.8.2) topology, the way its documentation
/// shows a stateful transformer: the log records in, a key-value store of per-tag state, placements and
/// throttled sightings out to a topic; run through its <see cref="TopologyTestDriver"/> on the same
/// records as the engine. The peer gets its best settings: the in-memory store (no RocksDB), binary
/// serdes, synchronous driver, no processing guarantee beyond at-least-once, and it does less than the
/// engine: no per-gateway watermarks, no reordering, no lateness, no deduplication (Kafka Streams
/// processes in offset order).
/// </summary>
internal static class StreamizPeer
{
    private const string StoreName = "tags";

    public static (double Peer, double Ours) Compare(TrackingInput input, int events)
    {
        var n = Math.Min(events, input.Count);
        var records = new TestRecord<byte[], byte[]>[n];
        for (var i = 0; i < n; i++)
        {
            var (k, v) = input.RecordMemory(i);
            records[i] = new TestRecord<byte[], byte[]> { Key = k.ToArray(), Value = v.ToArray(), Timestamp = DateTime.UnixEpoch.AddTicks(input.What(i).Time * 10) };
        }

        var peer = RunPeer(records);
        var ours = RunOurs(input, n);
        return (peer, ours);
    }

    private static double RunPeer(TestRecord<byte[], byte[]>[] records)
    {
        var config = new StreamConfig<ByteArraySerDes, ByteArraySerDes> { ApplicationId = "tracking-peer" };
        var builder = new StreamBuilder();
        builder.Stream<byte[], byte[]>("records")
            .Transform(
                TransformerBuilder.New<byte[], byte[], byte[], byte[]>()
                    .Transformer<TrackingTransformer>()
                    .StateStore(Stores.KeyValueStoreBuilder(Stores.InMemoryKeyValueStore(StoreName), new ByteArraySerDes(), new TagStateSerDes()))
                    .Build())
            .To("placements");

        using var driver = new TopologyTestDriver(builder.Build(), config, TopologyTestDriver.Mode.SYNC_TASK);
        var input = driver.CreateInputTopic<byte[], byte[]>("records");
        var output = driver.CreateOutputTopic<byte[], byte[]>("placements", TimeSpan.FromMilliseconds(1));

        // Warm up on a slice, then time one whole pass (the peer's state stays, as in a running app).
        input.PipeInputs(records.Take(20_000));
        output.ReadKeyValueList().ToList();
        // Only piping is timed: reading the driver's output topic back is the test driver's cost, not the
        // topology's (a deployed app hands its outputs to a producer), so it is done after the clock stops.
        var elapsed = TimeSpan.Zero;
        var emitted = 0L;
        const int chunk = 20_000;
        for (var i = 0; i < records.Length; i += chunk)
        {
            var sw = Stopwatch.StartNew();
            input.PipeInputs(records.Skip(i).Take(chunk));
            elapsed += sw.Elapsed;
            emitted += output.ReadKeyValueList().Count();
        }

        var rate = records.Length / elapsed.TotalSeconds;
        if (emitted == 0)
        {
            throw new InvalidOperationException("the Streamiz peer emitted nothing");
        }

        return rate;
    }

    private static double RunOurs(TrackingInput input, int n)
    {
        var job = new TrackingJob(new NameTable(), new NameTable());
        var sink = new CountingSink<Epc, TrackingOutput>();
        var task = new StreamTask<TrackingEvent, Epc, TagState, TrackingOutput>(job, new EngineOptions { OutOfOrdernessUs = 500_000 }, 0, sink, new InMemorySideOutput());
        for (var i = 0; i < 20_000; i++)
        {
            input.Record(i, out var k, out var v);
            task.ProcessRecord(i, k, v);
        }

        var sw = Stopwatch.StartNew();
        for (var i = 20_000; i < n; i++)
        {
            input.Record(i, out var k, out var v);
            task.ProcessRecord(i, k, v);
        }

        task.EndOfInput();
        return (n - 20_000) / sw.Elapsed.TotalSeconds;
    }

    /// <summary>The peer's per-tag state, the same fields as the engine job's <see cref="TagState"/>.</summary>
    internal sealed class PeerTagState
    {
        public string? Zone { get; set; }

        public long SinceUs { get; set; }

        public string? Gateway { get; set; }

        public long LastSeenUs { get; set; }

        public long LastSightingUs { get; set; }
    }

    /// <summary>The job's rules, as a Streamiz transformer over its key-value store.</summary>
    internal sealed class TrackingTransformer : ITransformer<byte[], byte[], byte[], byte[]>
    {
        private const long SightingIntervalUs = 10_000_000;
        private IKeyValueStore<byte[], PeerTagState>? _store;

        public void Init(ProcessorContext<byte[], byte[]> context) =>
            _store = (IKeyValueStore<byte[], PeerTagState>)context.GetStateStore(StoreName);

        public Record<byte[], byte[]>? Process(Record<byte[], byte[]> record)
        {
            LogEntry entry;
            try
            {
                entry = LogRecordCodec.Decode(record.Value);
            }
            catch (WireFormatException)
            {
                return null;
            }

            var t = entry.CorrectedTimeUs;
            var state = _store!.Get(record.Key) ?? new PeerTagState();
            state.LastSeenUs = Math.Max(state.LastSeenUs, t);
            byte[]? output = null;
            if (entry.Class == DataClass.Presence)
            {
                var target = entry.Presence.Kind == PresenceKind.Depart ? null : entry.Presence.Zone;
                var relevant = entry.Presence.Kind != PresenceKind.Depart || state.Zone == entry.Presence.Zone;
                if (relevant && state.Zone != target && t >= state.SinceUs)
                {
                    state.Zone = target;
                    state.SinceUs = t;
                    state.Gateway = entry.GatewayId;
                    state.LastSightingUs = t;
                    output = Placement(target, t, entry.GatewayId);
                }
            }

            if (output is null && (t - state.LastSightingUs >= SightingIntervalUs || state.LastSightingUs == 0))
            {
                state.LastSightingUs = t;
                output = Placement(null, t, entry.GatewayId);
            }

            _store.Put(record.Key, state);
            return output is null ? null : Record<byte[], byte[]>.Create(record.Key, output);
        }

        public void Close()
        {
        }

        private static byte[] Placement(string? zone, long t, string gateway)
        {
            var z = zone is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(zone);
            var g = System.Text.Encoding.UTF8.GetByteCount(gateway);
            var b = new byte[8 + 2 + z + g];
            BinaryPrimitives.WriteInt64LittleEndian(b, t);
            b[8] = (byte)z;
            b[9] = (byte)g;
            if (zone is not null)
            {
                System.Text.Encoding.UTF8.GetBytes(zone, b.AsSpan(10));
            }

            System.Text.Encoding.UTF8.GetBytes(gateway, b.AsSpan(10 + z));
            return b;
        }
    }

    /// <summary>A compact binary serdes for the peer's state (its best choice; JSON would be slower).</summary>
    internal sealed class TagStateSerDes : AbstractSerDes<PeerTagState>
    {
        public override PeerTagState Deserialize(byte[] data, Confluent.Kafka.SerializationContext context)
        {
            var r = new BinaryReader(new MemoryStream(data));
            return new PeerTagState
            {
                Zone = r.ReadBoolean() ? r.ReadString() : null,
                SinceUs = r.ReadInt64(),
                Gateway = r.ReadBoolean() ? r.ReadString() : null,
                LastSeenUs = r.ReadInt64(),
                LastSightingUs = r.ReadInt64(),
            };
        }

        public override byte[] Serialize(PeerTagState data, Confluent.Kafka.SerializationContext context)
        {
            var ms = new MemoryStream(64);
            var w = new BinaryWriter(ms);
            w.Write(data.Zone is not null);
            if (data.Zone is not null)
            {
                w.Write(data.Zone);
            }

            w.Write(data.SinceUs);
            w.Write(data.Gateway is not null);
            if (data.Gateway is not null)
            {
                w.Write(data.Gateway);
            }

            w.Write(data.LastSeenUs);
            w.Write(data.LastSightingUs);
            return ms.ToArray();
        }
    }
}
