using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.Contracts.Tests;

[Trait("Capability", "Foundation")]
public sealed class Batch_codec
{
    internal static Batch ReadsBatch(int n, int seed = 1)
    {
        var rng = new Random(seed);
        var t = 1_764_000_000_000_000L;
        var reads = Enumerable.Range(0, n).Select(i =>
        {
            t += rng.Next(-5000, 20000); // out of order across readers is allowed: deltas may be negative
            var bytes = new byte[rng.Next(1, 40)];
            rng.NextBytes(bytes);
            return new TagRead
            {
                Epc = Epc.FromBytes(bytes),
                ReaderId = "reader-" + rng.Next(3),
                Antenna = (ushort)rng.Next(0, 33),
                RssiCentiDbm = rng.Next(10) == 0 ? TagRead.NoRssi : (short)-rng.Next(2000, 9000),
                EventTimeUs = t,
                Source = (SourceKind)rng.Next(1, 6),
                SeenCount = (ushort)rng.Next(1, 100),
                OperatorId = rng.Next(4) == 0 ? "nurse-" + rng.Next(2) : null,
            };
        }).ToArray();
        return new Batch { GatewayId = "gw-ward-3", Sequence = (ulong)seed * 1_000_003, Class = DataClass.Reads, CreatedUs = 1_764_000_000_000_000L, Reads = reads };
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(500)]
    public void Reads_batch_round_trips_exactly(int n)
    {
        var batch = ReadsBatch(n);

        var decoded = BatchCodec.Decode(BatchCodec.Encode(batch));

        Assert.Equal(batch.GatewayId, decoded.GatewayId);
        Assert.Equal(batch.Sequence, decoded.Sequence);
        Assert.Equal(batch.Class, decoded.Class);
        Assert.Equal(batch.CreatedUs, decoded.CreatedUs);
        Assert.Equal(batch.Reads, decoded.Reads);
        Assert.Empty(decoded.Events);
    }

    [Fact]
    public void Scans_carry_their_zone_under_a_flag_and_a_batch_of_radio_reads_keeps_its_bytes()
    {
        var radio = ReadsBatch(50, seed: 3);
        var bytes = BatchCodec.Encode(radio);
        Assert.Equal(0, bytes[4]);

        var scans = radio with
        {
            Reads = [.. radio.Reads.Select((r, i) => i % 5 == 0 ? r with { Source = SourceKind.Handheld, OperatorId = "nurse-4", Zone = i % 10 == 0 ? "ward-3" : "bay-" + i } : r)],
        };
        var encoded = BatchCodec.Encode(scans);
        Assert.Equal(BatchCodec.ReadsCarryZones, encoded[4]);
        var decoded = BatchCodec.Decode(encoded);
        Assert.Equal(scans.Reads, decoded.Reads);
        Assert.Equal(10, decoded.Reads.Count(r => r.Zone is not null));

        // A flag this build does not know, or zones on presence events, is refused with a reason.
        var unknown = (byte[])encoded.Clone();
        unknown[4] = 0x02;
        Rechecksum(unknown);
        Assert.Equal(WireError.Malformed, Assert.Throws<WireFormatException>(() => BatchCodec.Decode(unknown)).Error);
    }

    private static void Rechecksum(byte[] payload) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(payload.Length - 4), Crc32C.Compute(payload.AsSpan(0, payload.Length - 4)));

    [Fact]
    public void Presence_batch_round_trips_exactly()
    {
        var epc = Epc.ParseHex("300833B2DDD9014000000001");
        var events = new[]
        {
            new PresenceEvent { Epc = epc, Kind = PresenceKind.Arrive, Zone = "waiting-room", EventTimeUs = 100, ReadCount = 12, PeakRssiCentiDbm = -4100, MeanRssiCentiDbm = -5230 },
            new PresenceEvent { Epc = epc, Kind = PresenceKind.Move, Zone = "recovery", FromZone = "waiting-room", EventTimeUs = 90_000_000, ReadCount = 8, PeakRssiCentiDbm = -3900, MeanRssiCentiDbm = -4400 },
            new PresenceEvent { Epc = epc, Kind = PresenceKind.Depart, Zone = "recovery", EventTimeUs = 95_000_000, ReadCount = 0, PeakRssiCentiDbm = TagRead.NoRssi, MeanRssiCentiDbm = TagRead.NoRssi },
        };
        var batch = new Batch { GatewayId = "gw-1", Sequence = 7, Class = DataClass.Presence, CreatedUs = 95_000_001, Events = events };

        var decoded = BatchCodec.Decode(BatchCodec.Encode(batch));

        Assert.Equal(events, decoded.Events);
        Assert.Equal(DataClass.Presence, decoded.Class);
    }

    [Fact]
    public void Header_can_be_peeked_without_decoding_records()
    {
        var bytes = BatchCodec.Encode(ReadsBatch(10, seed: 5));

        Assert.True(BatchCodec.TryPeekHeader(bytes, out var gw, out var seq, out var cls));
        Assert.Equal("gw-ward-3", gw);
        Assert.Equal(5_000_015UL, seq);
        Assert.Equal(DataClass.Reads, cls);
    }

    [Fact]
    public void Unknown_version_is_refused_as_unsupported()
    {
        var bytes = BatchCodec.Encode(ReadsBatch(3));
        bytes[2] = 2;

        var ex = Assert.Throws<WireFormatException>(() => BatchCodec.Decode(bytes));

        Assert.Equal(WireError.UnsupportedVersion, ex.Error);
        Assert.Contains("version 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_or_other_garbage_is_refused_as_bad_magic()
    {
        var ex = Assert.Throws<WireFormatException>(() => BatchCodec.Decode("{\"epc\":\"AB\"}"u8));
        Assert.Equal(WireError.BadMagic, ex.Error);
    }

    [Fact]
    public void A_flipped_bit_anywhere_is_caught_by_the_checksum()
    {
        var bytes = BatchCodec.Encode(ReadsBatch(20));
        for (var i = 5; i < bytes.Length; i++)
        {
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x10;
            var ex = Assert.Throws<WireFormatException>(() => BatchCodec.Decode(copy));
            Assert.Equal(WireError.BadChecksum, ex.Error);
        }
    }

    [Fact]
    public void Every_truncation_is_refused()
    {
        var bytes = BatchCodec.Encode(ReadsBatch(20));
        for (var len = 0; len < bytes.Length; len++)
        {
            Assert.Throws<WireFormatException>(() => BatchCodec.Decode(bytes.AsSpan(0, len)));
        }
    }

    [Fact]
    public void Random_and_mutated_payloads_never_escape_as_anything_but_wire_errors()
    {
        var rng = new Random(1234);
        var valid = BatchCodec.Encode(ReadsBatch(30));
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[rng.Next(0, 200)];
                rng.NextBytes(input);
                if (input.Length > 3)
                {
                    input[0] = (byte)'E';
                    input[1] = (byte)'S';
                    input[2] = 1;
                }
            }
            else
            {
                input = (byte[])valid.Clone();
                for (var m = rng.Next(1, 5); m > 0; m--)
                {
                    input[rng.Next(input.Length)] = (byte)rng.Next(256);
                }
            }

            // Re-seal mutated bodies with a valid checksum half the time, so the structural checks
            // behind the checksum are exercised too.
            if (i % 4 == 1 && input.Length > 9)
            {
                var crc = Crc32C.Compute(input.AsSpan(0, input.Length - 4));
                BitConverter.TryWriteBytes(input.AsSpan(input.Length - 4), crc);
            }

            try
            {
                var batch = BatchCodec.Decode(input);
                Assert.True(batch.Count <= WireLimits.MaxRecords);
            }
            catch (WireFormatException)
            {
                // refused with a reason: the contract
            }
        }
    }

    [Fact]
    public void Declared_counts_beyond_limits_are_refused_before_allocating()
    {
        // Hand-built header announcing a billion records.
        var body = new List<byte> { (byte)'E', (byte)'S', 1, 1, 0, 1, (byte)'g', 1, 0 };
        body.AddRange([0x80, 0x94, 0xEB, 0xDC, 0x03]); // varint 1,000,000,000
        body.Add(0);
        var crc = Crc32C.Compute(body.ToArray());
        body.AddRange(BitConverter.GetBytes(crc));

        var ex = Assert.Throws<WireFormatException>(() => BatchCodec.Decode(body.ToArray()));

        Assert.Equal(WireError.LimitExceeded, ex.Error);
    }

    [Fact]
    public void Encoding_refuses_a_batch_the_format_cannot_carry()
    {
        var read = new TagRead { Epc = Epc.ParseHex("AB"), ReaderId = new string('r', 300), EventTimeUs = 1 };
        var batch = new Batch { GatewayId = "gw", Sequence = 1, Class = DataClass.Reads, Reads = [read] };

        Assert.Throws<ArgumentException>(() => BatchCodec.Encode(batch));
    }
}
