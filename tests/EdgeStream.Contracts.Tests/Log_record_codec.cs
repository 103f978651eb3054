using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Contracts.Tests;

[Trait("Capability", "Ingest")]
public sealed class Log_record_codec
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
    public void A_manual_event_round_trips_with_who_why_and_its_client_id_and_the_largest_fits_the_bound()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var manual = new ManualEvent
        {
            Epc = Epc.ParseHex("30340242201D8840009EFA01"),
            Kind = ManualKind.Override,
            EventTimeUs = 1_767_225_600_000_000,
            Zone = "recovery",
            UntilUs = 1_767_229_200_000_000,
            By = "nurse-4",
            Reason = "reader in recovery is down",
            ClientId = "f3c1",
        };
        var n = LogRecordCodec.EncodeManual(9, manual, buffer, manual.EventTimeUs + 5);
        var entry = LogRecordCodec.Decode(buffer.AsSpan(0, n));
        Assert.Equal((ManualEvent.Source, 9UL, DataClass.Manual), (entry.GatewayId, entry.Sequence, entry.Class));
        Assert.Equal(manual, entry.Manual);
        Assert.Equal((manual.Epc, manual.EventTimeUs), (entry.Epc, entry.CorrectedTimeUs));
        Assert.False(Topics.IsValidGatewayId(ManualEvent.Source));

        var longest = new string('m', WireLimits.MaxStringBytes);
        var big = manual with { Epc = Epc.FromBytes(new byte[62]), Zone = longest, Action = longest, By = longest, Reason = longest, ClientId = longest, EventTimeUs = long.MinValue, UntilUs = long.MaxValue };
        Assert.Equal(big, LogRecordCodec.Decode(buffer.AsSpan(0, LogRecordCodec.EncodeManual(ulong.MaxValue, big, buffer, long.MaxValue))).Manual);

        // A kind this build does not know is refused, never guessed (kind, zone flag, zone length, zone).
        n = LogRecordCodec.EncodeManual(9, manual, buffer, manual.EventTimeUs);
        var at = buffer.AsSpan(0, n).IndexOf("recovery"u8) - 3;
        Assert.Equal((byte)ManualKind.Override, buffer[at]);
        buffer[at] = 9;
        Assert.Throws<WireFormatException>(() => LogRecordCodec.Decode(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void A_scan_with_a_zone_is_a_version_3_record_and_a_read_without_one_stays_version_2()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var scan = new TagRead { Epc = Epc.ParseHex("300833B2DDD9014000000001"), ReaderId = "desk-scanner", EventTimeUs = 1_764_000_000_000_000, Source = SourceKind.Scanner, SeenCount = 1, OperatorId = "porter-bob", Zone = "dock-2" };
        var n = LogRecordCodec.EncodeRead("gw-1", 9, 0, 1, scan, buffer, 5, 0);
        Assert.Equal(LogRecordCodec.ScanVersion, buffer[0]);
        var entry = LogRecordCodec.Decode(buffer.AsSpan(0, n));
        Assert.Equal((scan, 5L), (entry.Read, entry.IngestTimeUs));

        n = LogRecordCodec.EncodeRead("gw-1", 9, 0, 1, scan with { Zone = null }, buffer, 5, 0);
        Assert.Equal(LogRecordCodec.Version, buffer[0]);
        Assert.Null(LogRecordCodec.Decode(buffer.AsSpan(0, n)).Read.Zone);

        // Version 3 is a read's; a presence event claiming it is refused.
        n = LogRecordCodec.EncodePresence("gw-1", 9, 0, 1, new PresenceEvent { Epc = scan.Epc, Kind = PresenceKind.Arrive, Zone = "dock-2", EventTimeUs = 1 }, buffer);
        buffer[0] = LogRecordCodec.ScanVersion;
        Assert.Throws<WireFormatException>(() => LogRecordCodec.Decode(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void A_watermark_mark_carries_its_gateway_time_and_partition_key_and_places_by_the_corrected_time()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var key = Epc.ParseHex("00000007");
        var n = LogRecordCodec.EncodeMark("gw-1", 0, key, 1_764_000_060_000_000, buffer, 1_764_000_100_000_000, 2_000_000);
        var entry = LogRecordCodec.Decode(buffer.AsSpan(0, n));
        Assert.Equal((DataClass.Mark, "gw-1", key, 1_764_000_060_000_000L), (entry.Class, entry.GatewayId, entry.Epc, entry.EventTimeUs));
        Assert.Equal(1_764_000_058_000_000L, entry.CorrectedTimeUs);
        for (var cut = 1; cut < n; cut++)
        {
            Assert.Throws<WireFormatException>(() => LogRecordCodec.Decode(buffer.AsSpan(0, cut)));
        }
    }

    [Fact]
    public void Decoding_records_whose_names_repeat_allocates_nothing()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var read = new TagRead { Epc = Epc.ParseHex("300833B2DDD9014000000001"), ReaderId = "ward-reader", Antenna = 2, RssiCentiDbm = -5100, EventTimeUs = 1_764_000_000_000_000, Source = SourceKind.Llrp, SeenCount = 3 };
        var n = LogRecordCodec.EncodeRead("gw-ward-3", 9, 0, 1, read, buffer, 5, 0);
        var first = LogRecordCodec.Decode(buffer.AsSpan(0, n));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            var again = LogRecordCodec.Decode(buffer.AsSpan(0, n));
            Assert.Same(first.GatewayId, again.GatewayId);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        // A name the thread has not seen is decoded as ever.
        n = LogRecordCodec.EncodeRead("gw-other", 9, 0, 1, read with { ReaderId = "dock-reader" }, buffer, 5, 0);
        Assert.Equal(("gw-other", "dock-reader"), LogRecordCodec.Decode(buffer.AsSpan(0, n)) is var e ? (e.GatewayId, e.Read.ReaderId) : default);
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
            Zone = longName,
        };
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var n = LogRecordCodec.EncodeRead(new string('g', Topics.MaxGatewayIdLength), ulong.MaxValue, int.MaxValue - 1, int.MaxValue, read, buffer, long.MinValue, long.MinValue);
        Assert.Equal(read, LogRecordCodec.Decode(buffer.AsSpan(0, n)).Read);
    }

    [Fact]
    public void Version_2_carries_the_ingest_time_and_the_clock_correction_and_places_by_the_corrected_time()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var read = Batches.Reads("gw-1", 5, 1).Reads[0] with { EventTimeUs = 10_000_000 };
        var n = LogRecordCodec.EncodeRead("gw-1", 5, 0, 1, read, buffer, ingestTimeUs: 9_000_000, clockOffsetUs: 3_000_000);
        var entry = LogRecordCodec.Decode(buffer.AsSpan(0, n));
        Assert.Equal(2, buffer[0]);
        Assert.Equal(9_000_000, entry.IngestTimeUs);
        Assert.Equal(3_000_000, entry.ClockOffsetUs);
        Assert.Equal(7_000_000, entry.CorrectedTimeUs);

        // A clock ahead that was not corrected yet never places an event after ingest received it.
        n = LogRecordCodec.EncodeRead("gw-1", 5, 0, 1, read, buffer, ingestTimeUs: 8_000_000, clockOffsetUs: 0);
        Assert.Equal(8_000_000, LogRecordCodec.Decode(buffer.AsSpan(0, n)).CorrectedTimeUs);

        // A clock behind is moved forward by the correction.
        n = LogRecordCodec.EncodeRead("gw-1", 5, 0, 1, read, buffer, ingestTimeUs: 3_700_000_000, clockOffsetUs: -3_600_000_000);
        Assert.Equal(3_610_000_000, LogRecordCodec.Decode(buffer.AsSpan(0, n)).CorrectedTimeUs);
    }

    [Fact]
    public void Version_1_records_already_in_a_log_still_decode_with_no_correction()
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var presence = Batches.Presence("gw-1", 78).Events[0];
        var n = LogRecordCodec.EncodePresence("gw-1", 78, 0, 1, presence, buffer);

        // Version 1 is version 2 without the two trailing zigzag zeros.
        var v1 = buffer.AsSpan(0, n - 2).ToArray();
        v1[0] = 1;
        var entry = LogRecordCodec.Decode(v1);
        Assert.Equal(presence, entry.Presence);
        Assert.Equal(0, entry.IngestTimeUs);
        Assert.Equal(presence.EventTimeUs, entry.CorrectedTimeUs);

        // The same bytes marked version 2 are a record cut short.
        Assert.Equal(WireError.Truncated, Assert.Throws<WireFormatException>(() => LogRecordCodec.Decode(buffer.AsSpan(0, n - 2))).Error);
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
