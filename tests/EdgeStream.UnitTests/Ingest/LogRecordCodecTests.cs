using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Tests.Ingest;

[Trait("Capability", "Ingest")]
public sealed class LogRecordCodecTests
{
    [Fact]
    public void Reads_and_presence_events_round_trip_with_their_batch_identity()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var batch = Batches.Reads("gw-1", 77, 3);
        for (var i = 0; i < 3; i++)
        {
            var n = LogRecordCodec.EncodeRead("gw-1", 77, i, 3, batch.Reads[i], buffer);
            var entry = LogRecordCodec.Decode(buffer.AsSpan(0, n));
            Assert.Equal(new LogEntry("gw-1", 77, i, 3, DataClass.Reads, batch.Reads[i], default), entry);
            Assert.Equal(batch.Reads[i].Epc, entry.Epc);
        }

        var presence = Batches.Presence("gw-1", 78).Events[0];
        var m = LogRecordCodec.EncodePresence("gw-1", 78, 0, 1, presence, buffer);
        var decoded = LogRecordCodec.Decode(buffer.AsSpan(0, m));
        Assert.Equal(presence, decoded.Presence);
        Assert.Equal(presence.EventTimeUs, decoded.EventTimeUs);
    }

    [Fact]
    public void The_largest_record_fits_the_documented_bound()
    {
        var longName = new string('r', WireLimits.MaxStringBytes);
        var read = new TagRead
        {
            Epc = Epc.FromBytes(new byte[62]),
            ReaderId = longName,
            Antenna = ushort.MaxValue,
            RssiCentiDbm = short.MinValue,
            EventTimeUs = long.MinValue,
            SeenCount = ushort.MaxValue,
            OperatorId = longName,
        };
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var n = LogRecordCodec.EncodeRead(new string('g', Topics.MaxGatewayIdLength), ulong.MaxValue, int.MaxValue - 1, int.MaxValue, read, buffer);
        Assert.Equal(read, LogRecordCodec.Decode(buffer.AsSpan(0, n)).Read);
    }

    [Fact]
    public void Damaged_records_throw_wire_format_errors_only()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var n = LogRecordCodec.EncodeRead("gw-1", 1, 0, 1, Batches.Reads("gw-1", 1, 1).Reads[0], buffer);
        var good = buffer.AsSpan(0, n).ToArray();
        var rng = new Random(7);
        for (var i = 0; i < 5000; i++)
        {
            var bad = good.ToArray();
            if (i % 3 == 0)
            {
                bad = bad.AsSpan(0, rng.Next(bad.Length)).ToArray();
            }
            else
            {
                bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
            }

            try
            {
                LogRecordCodec.Decode(bad);
            }
            catch (WireFormatException)
            {
            }
        }

        Assert.Equal(WireError.UnsupportedVersion, Assert.Throws<WireFormatException>(() => LogRecordCodec.Decode([9, 1])).Error);
    }
}
