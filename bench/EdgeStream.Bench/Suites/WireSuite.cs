using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Wire format figures: the binary format the product uses, measured beside a straightforward JSON
/// rendering of the same batch, which is the alternative the format was chosen against.
/// </summary>
public sealed class WireSuite : IBenchmarkSuite
{
    private const int BatchSize = 500;

    public string Name => "wire";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var batch = SampleBatch(BatchSize);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var encoded = BatchCodec.Encode(batch);
        var dur = TimeSpan.FromSeconds(2);

        yield return new Figure("wire.encode.reads_per_s", Measure.Throughput(() =>
        {
            buffer.ResetWrittenCount();
            BatchCodec.Encode(batch, buffer);
            return BatchSize;
        }, dur), "reads/s");
        yield return new Figure("wire.decode.reads_per_s", Measure.Throughput(() => BatchCodec.Decode(encoded).Count, dur), "reads/s");
        yield return new Figure("wire.bytes_per_read", (double)encoded.Length / BatchSize, "bytes");

        var json = JsonBatch.From(batch);
        var jsonBytes = JsonSerializer.SerializeToUtf8Bytes(json);
        yield return new Figure("wire.json.encode.reads_per_s", Measure.Throughput(() =>
        {
            buffer.ResetWrittenCount();
            using var writer = new Utf8JsonWriter(buffer);
            JsonSerializer.Serialize(writer, JsonBatch.From(batch));
            return BatchSize;
        }, dur), "reads/s");
        yield return new Figure("wire.json.decode.reads_per_s", Measure.Throughput(() =>
            JsonSerializer.Deserialize<JsonBatch>(jsonBytes)!.ToBatch().Count, dur), "reads/s");
        yield return new Figure("wire.json.bytes_per_read", (double)jsonBytes.Length / BatchSize, "bytes");
    }

    /// <summary>A realistic batch: 40 tags, 2 readers × 4 antennas, reads a few ms apart, RSSI −40..−75 dBm.</summary>
    internal static Batch SampleBatch(int n)
    {
        var rng = new Random(42);
        var tags = Enumerable.Range(0, 40).Select(i => Epc.ParseHex($"30340242201D8840000{i:X5}")).ToArray();
        var readers = new[] { "dock-door-1", "dock-door-2" };
        var t = 1_764_000_000_000_000L;
        var reads = new TagRead[n];
        for (var i = 0; i < n; i++)
        {
            t += rng.Next(200, 4000);
            reads[i] = new TagRead
            {
                Epc = tags[rng.Next(tags.Length)],
                ReaderId = readers[rng.Next(2)],
                Antenna = (ushort)rng.Next(1, 5),
                RssiCentiDbm = (short)(-rng.Next(4000, 7500)),
                EventTimeUs = t,
                Source = SourceKind.Llrp,
                SeenCount = 1,
            };
        }

        return new Batch { GatewayId = "gw-warehouse-01", Sequence = 123_456, Class = DataClass.Reads, CreatedUs = t, Reads = reads };
    }

    private sealed record JsonRead(string Epc, string Reader, int Antenna, double? Rssi, long TimeUs, string Source, int SeenCount, string? Operator);

    private sealed record JsonBatch(int V, string GatewayId, ulong Seq, string Class, long CreatedUs, List<JsonRead> Reads)
    {
        public static JsonBatch From(Batch b) => new(
            1, b.GatewayId, b.Sequence, b.Class.ToString(), b.CreatedUs,
            b.Reads.Select(r => new JsonRead(r.Epc.ToString(), r.ReaderId, r.Antenna, r.RssiDbm, r.EventTimeUs, r.Source.ToString(), r.SeenCount, r.OperatorId)).ToList());

        public Batch ToBatch() => new()
        {
            GatewayId = GatewayId,
            Sequence = Seq,
            Class = Enum.Parse<DataClass>(Class),
            CreatedUs = CreatedUs,
            Reads = Reads.Select(r => new TagRead
            {
                Epc = Contracts.Epc.ParseHex(r.Epc),
                ReaderId = r.Reader,
                Antenna = (ushort)r.Antenna,
                RssiCentiDbm = r.Rssi is { } d ? (short)Math.Round(d * 100) : TagRead.NoRssi,
                EventTimeUs = r.TimeUs,
                Source = Enum.Parse<SourceKind>(r.Source),
                SeenCount = (ushort)r.SeenCount,
                OperatorId = r.Operator,
            }).ToArray(),
        };
    }
}
