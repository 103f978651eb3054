using System.Text;
using EdgeStream.EventLog;

namespace EdgeStream.Tests.Ingest;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}

internal static class LogTestData
{
    public static LogMessage Message(string key, string value, long ts = 1_764_000_000_000_000) =>
        new(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), ts);

    public static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>Consumes until <paramref name="count"/> records arrived (copied out), or fails after a generous timeout.</summary>
    public static async Task<List<(int Partition, long Offset, string Key, string Value, long Ts)>> ConsumeAsync(IEventLogConsumer consumer, int count, TimeSpan? timeout = null)
    {
        var result = new List<(int, long, string, string, long)>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (result.Count < count)
        {
            cts.Token.ThrowIfCancellationRequested();
            foreach (var r in await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), cts.Token))
            {
                result.Add((r.Partition, r.Offset, Text(r.Key), Text(r.Value), r.TimestampUs));
            }
        }

        return result;
    }
}

internal static class Batches
{
    public static EdgeStream.Contracts.Batch Reads(string gateway, ulong sequence, int count = 10, int tags = 5)
    {
        var reads = new EdgeStream.Contracts.TagRead[count];
        for (var i = 0; i < count; i++)
        {
            reads[i] = new EdgeStream.Contracts.TagRead
            {
                Epc = EdgeStream.Contracts.Epc.ParseHex($"3034F00D0000000000{i % tags:X6}"),
                ReaderId = "dock-" + (i % 2),
                Antenna = (ushort)(1 + (i % 4)),
                RssiCentiDbm = (short)(-4000 - i),
                EventTimeUs = 1_764_000_000_000_000 + ((long)sequence * 1000) + i,
                Source = EdgeStream.Contracts.SourceKind.Llrp,
                SeenCount = 1,
                OperatorId = i == 0 ? "op-7" : null,
            };
        }

        return new EdgeStream.Contracts.Batch { GatewayId = gateway, Sequence = sequence, Class = EdgeStream.Contracts.DataClass.Reads, CreatedUs = 1_764_000_000_000_000, Reads = reads };
    }

    public static EdgeStream.Contracts.Batch Presence(string gateway, ulong sequence) => new()
    {
        GatewayId = gateway,
        Sequence = sequence,
        Class = EdgeStream.Contracts.DataClass.Presence,
        CreatedUs = 1_764_000_000_000_000,
        Events =
        [
            new EdgeStream.Contracts.PresenceEvent
            {
                Epc = EdgeStream.Contracts.Epc.ParseHex("E2801160600002084E0C1F21"),
                Kind = EdgeStream.Contracts.PresenceKind.Move,
                Zone = "recovery",
                FromZone = "theatre-2",
                EventTimeUs = 1_764_000_000_500_000,
                ReadCount = 42,
                PeakRssiCentiDbm = -4100,
                MeanRssiCentiDbm = -5230,
            },
        ],
    };

    public static System.Buffers.ReadOnlySequence<byte> Bytes(EdgeStream.Contracts.Batch batch) => new(EdgeStream.Contracts.Wire.BatchCodec.Encode(batch));
}
