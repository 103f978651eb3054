using System.Buffers;
using EdgeStream.SerialProtocols.R2000;

namespace EdgeStream.SerialProtocols.Tests;

/// <summary>R2000 frames: golden bytes, tag decoding, resynchronisation after noise and corruption, fuzzing.</summary>
[Trait("Capability", "Readers")]
public sealed class R2000_codec
{
    // A tag answer as a module sends it: address 1, real-time inventory, FreqAnt 0x09 (frequency 2,
    // antenna 2), PC 0x3000 (6 words), a 12-byte EPC, RSSI 0x4F (79 − 129 = −50 dBm).
    private static readonly byte[] TagFrame = Convert.FromHexString("A01301890930003034257BF400B7800004CB2F4F" + "00");

    static R2000_codec()
    {
        TagFrame[^1] = R2000Codec.Checksum(TagFrame.AsSpan(0, TagFrame.Length - 1));
    }

    [Fact]
    public void Commands_encode_to_the_documented_bytes()
    {
        Assert.Equal("A004017400E7", Convert.ToHexString(R2000Codec.Frame(0x01, R2000Command.SetWorkAntenna, 0x00)));
        Assert.Equal("A004FF8901D3", Convert.ToHexString(R2000Codec.Frame(0xFF, R2000Command.RealTimeInventory, 0x01)));
        var any = R2000Codec.Frame(0x05, R2000Command.FastSwitchAntennaInventory, 0, 1, 1, 1, 0xFF, 1, 0xFF, 1, 0, 1);
        Assert.Equal(0, any.Aggregate(0, (s, b) => (s + b) & 0xFF));
    }

    [Fact]
    public void Tag_frame_decodes_epc_antenna_frequency_and_rssi()
    {
        Assert.True(R2000Codec.TryDecodeInventory(new R2000Frame(TagFrame), out var inv));

        Assert.Equal(R2000InventoryKind.Tag, inv.Kind);
        Assert.Equal("3034257BF400B7800004CB2F", inv.Epc.ToString());
        Assert.Equal(2, inv.Antenna);
        Assert.Equal(2, inv.FrequencyIndex);
        Assert.Equal(-50, inv.RssiDbm);
        Assert.Equal(0x3000, inv.Pc);

        var written = new byte[64];
        var n = R2000Codec.WriteTagFrame(written, 0x01, R2000Command.RealTimeInventory, 2, 2, Convert.FromHexString("3034257BF400B7800004CB2F"), -50);
        Assert.Equal(Convert.ToHexString(TagFrame), Convert.ToHexString(written.AsSpan(0, n)));
    }

    [Fact]
    public void End_of_round_and_error_frames_are_recognised()
    {
        var end = R2000Codec.Frame(1, R2000Command.RealTimeInventory, 0, 0, 30, 0, 0, 1, 44);
        Assert.True(R2000Codec.TryDecodeInventory(new R2000Frame(end), out var e));
        Assert.Equal(R2000InventoryKind.EndOfRound, e.Kind);
        Assert.Equal(300u, e.TotalReads);

        var fastEnd = R2000Codec.Frame(1, R2000Command.FastSwitchAntennaInventory, 0, 1, 2, 0, 0, 0, 50);
        Assert.True(R2000Codec.TryDecodeInventory(new R2000Frame(fastEnd), out var f));
        Assert.Equal(258u, f.TotalReads);

        var missing = R2000Codec.Frame(1, R2000Command.FastSwitchAntennaInventory, 2, 0x22);
        Assert.True(R2000Codec.TryDecodeInventory(new R2000Frame(missing), out var m));
        Assert.Equal((R2000InventoryKind.Error, (byte)3, (byte)0x22), (m.Kind, m.Antenna, m.ErrorCode));
    }

    [Fact]
    public void Inconsistent_epc_length_is_not_a_read()
    {
        var bad = (byte[])TagFrame.Clone();
        bad[5] = 0x38; // PC says 7 words, the frame holds 6.
        bad[^1] = R2000Codec.Checksum(bad.AsSpan(0, bad.Length - 1));
        Assert.False(R2000Codec.TryDecodeInventory(new R2000Frame(bad), out _));
    }

    [Fact]
    public void Framing_resynchronises_after_noise_and_corrupted_frames()
    {
        var corrupted = (byte[])TagFrame.Clone();
        corrupted[8] ^= 0xFF;
        byte[] stream = [0x13, 0x37, 0x00, .. TagFrame, 0xA0, 0x01, .. corrupted, 0x42, .. TagFrame[..7]];
        var buffer = new ReadOnlySequence<byte>(stream);
        var frame = new byte[R2000Codec.MaxFrameLength];
        var stats = default(R2000StreamStats);

        Assert.True(R2000Codec.TryReadFrame(ref buffer, frame, out var n, ref stats));
        Assert.Equal(TagFrame, frame[..n]);
        Assert.False(R2000Codec.TryReadFrame(ref buffer, frame, out _, ref stats));

        Assert.Equal(1, stats.Frames);
        Assert.Equal(2, stats.CorruptFrames); // The A0 01 head with an impossible length, and the bad checksum.
        Assert.True(stats.NoiseBytes >= 4);
        Assert.Equal(7, buffer.Length); // The partial frame at the end is kept for more bytes.
    }

    [Fact]
    public void Random_and_mutated_streams_never_throw_and_never_yield_unchecked_frames()
    {
        var rng = new Random(5);
        var frame = new byte[R2000Codec.MaxFrameLength];
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (rng.Next(2) == 0)
            {
                input = new byte[rng.Next(0, 300)];
                rng.NextBytes(input);
            }
            else
            {
                input = [.. TagFrame, .. TagFrame];
                for (var k = rng.Next(1, 4); k > 0; k--)
                {
                    input[rng.Next(input.Length)] = (byte)rng.Next(256);
                }
            }

            var buffer = new ReadOnlySequence<byte>(input);
            var stats = default(R2000StreamStats);
            while (R2000Codec.TryReadFrame(ref buffer, frame, out var n, ref stats))
            {
                Assert.Equal(0, frame.AsSpan(0, n).ToArray().Aggregate(0, (s, b) => (s + b) & 0xFF));
                R2000Codec.TryDecodeInventory(new R2000Frame(frame.AsSpan(0, n)), out _);
            }

            Assert.True(buffer.Length < R2000Codec.MaxFrameLength);
        }
    }
}
