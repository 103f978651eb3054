using System.Buffers;
using System.Runtime.CompilerServices;
using EdgeStream.Contracts;
using EdgeStream.Llrp;
using EdgeStream.SerialProtocols.R2000;

namespace EdgeStream.Bench.Suites;

/// <summary>
/// Reader decoding figures on one core: LLRP RO_ACCESS_REPORTs and R2000 tag frames turned into
/// <see cref="TagRead"/>s the way the drivers do it, and the bytes allocated per read.
/// </summary>
public sealed class ReadersSuite : IBenchmarkSuite
{
    private const int TagsPerMessage = 100;

    public string Name => "readers";

    public async IAsyncEnumerable<Figure> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        var duration = TimeSpan.FromSeconds(3);
        var reads = new TagRead[TagsPerMessage];

        var report = LlrpReport();
        yield return new Figure("llrp.decode.reads_per_s", Measure.Throughput(() => DecodeLlrp(report, reads), duration), "reads/s");
        yield return new Figure("llrp.decode.allocated_bytes_per_read", PerRead(() => DecodeLlrp(report, reads)), "bytes");

        var stream = R2000Stream();
        var frame = new byte[R2000Codec.MaxFrameLength];
        yield return new Figure("r2000.decode.reads_per_s", Measure.Throughput(() => DecodeR2000(stream, frame, reads), duration), "reads/s");
        yield return new Figure("r2000.decode.allocated_bytes_per_read", PerRead(() => DecodeR2000(stream, frame, reads)), "bytes");
    }

    private static double PerRead(Func<int> decode)
    {
        decode();
        long n = 0;
        var bytes = Measure.AllocatedBytes(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                n += decode();
            }
        });
        return (double)bytes / n;
    }

    /// <summary>An Impinj-style report: EPC-96, antenna, PeakRSSI, FirstSeen, TagSeenCount and Impinj peak RSSI per tag.</summary>
    private static byte[] LlrpReport()
    {
        var w = new LlrpWriter(8192);
        var m = w.BeginMessage(LlrpMessageType.ROAccessReport, 1);
        var epc = Convert.FromHexString("3034257BF400B7800004CB2F");
        for (var i = 0; i < TagsPerMessage; i++)
        {
            epc[^1] = (byte)i;
            LlrpEncoder.WriteTagReportData(w, epc, 96, (ushort)((i % 4) + 1), (sbyte)(-40 - (i % 30)), 1_764_000_000_000_000UL + (ulong)i, tagSeenCount: 1, impinjPeakRssi: (short)(-4000 - (i * 7)));
        }

        w.EndMessage(m);
        return w.WrittenSpan[LlrpHeader.Size..].ToArray();
    }

    private static int DecodeLlrp(byte[] body, TagRead[] output)
    {
        var reader = new RoAccessReportReader(body);
        var n = 0;
        while (reader.TryRead(out var tag))
        {
            output[n++] = new TagRead
            {
                Epc = tag.Epc,
                ReaderId = "dock-door-1",
                Antenna = tag.AntennaId,
                RssiCentiDbm = tag.RssiCentiDbm,
                EventTimeUs = (long)tag.FirstSeenUtc,
                Source = SourceKind.Llrp,
                SeenCount = Math.Max((ushort)1, tag.TagSeenCount),
            };
        }

        return n;
    }

    private static ReadOnlySequence<byte> R2000Stream()
    {
        var output = new ArrayBufferWriter<byte>(4096);
        var frame = new byte[R2000Codec.MaxFrameLength];
        var epc = Convert.FromHexString("3034257BF400B7800004CB2F");
        for (var i = 0; i < TagsPerMessage; i++)
        {
            epc[^1] = (byte)i;
            var n = R2000Codec.WriteTagFrame(frame, 1, R2000Command.RealTimeInventory, (byte)((i % 4) + 1), (byte)(i % 50), epc, -40 - (i % 30));
            output.Write(frame.AsSpan(0, n));
        }

        return new ReadOnlySequence<byte>(output.WrittenMemory);
    }

    private static int DecodeR2000(ReadOnlySequence<byte> stream, byte[] frame, TagRead[] output)
    {
        var buffer = stream;
        var stats = default(R2000StreamStats);
        var n = 0;
        while (R2000Codec.TryReadFrame(ref buffer, frame, out var length, ref stats))
        {
            if (R2000Codec.TryDecodeInventory(new R2000Frame(frame.AsSpan(0, length)), out var inv) && inv.Kind == R2000InventoryKind.Tag)
            {
                output[n++] = new TagRead
                {
                    Epc = inv.Epc,
                    ReaderId = "shelf-1",
                    Antenna = inv.Antenna,
                    RssiCentiDbm = (short)(inv.RssiDbm * 100),
                    EventTimeUs = 1_764_000_000_000_000L,
                    Source = SourceKind.Serial,
                    SeenCount = 1,
                };
            }
        }

        return n;
    }
}
