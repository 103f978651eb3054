namespace EdgeStream.TestUtilities;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}

public static class Batches
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
