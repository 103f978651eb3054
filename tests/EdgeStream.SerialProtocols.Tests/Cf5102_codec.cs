using System.Buffers;
using EdgeStream.Contracts;
using EdgeStream.SerialProtocols.Chafon;

namespace EdgeStream.SerialProtocols.Tests;

/// <summary>CF-RU5102: CRC-16/MCRF4XX, command bytes, inventory answers, resynchronisation and fuzzing.</summary>
[Trait("Capability", "Readers")]
public sealed class Cf5102_codec
{
    [Fact]
    public void Crc_is_mcrf4xx()
    {
        Assert.Equal(0x6F91, Cf5102Codec.Crc16("123456789"u8));
        var cmd = Cf5102Codec.Command(0x00, Cf5102Command.Inventory);
        Assert.Equal("040001DB4B", Convert.ToHexString(cmd));
    }

    [Fact]
    public void Inventory_answer_lists_epcs_and_bad_counts_are_refused()
    {
        var answer = Cf5102Codec.Response(0x00, Cf5102Command.Inventory, Cf5102Command.StatusDone,
            [2, 12, .. Convert.FromHexString("3034257BF400B7800004CB2F"), 4, 0xDE, 0xAD, 0xBE, 0xEF]);
        var epcs = new Epc[8];

        Assert.True(Cf5102Codec.TryReadInventory(answer, epcs, out var n));
        Assert.Equal(2, n);
        Assert.Equal("3034257BF400B7800004CB2F", epcs[0].ToString());
        Assert.Equal("DEADBEEF", epcs[1].ToString());

        var lying = Cf5102Codec.Response(0x00, Cf5102Command.Inventory, Cf5102Command.StatusDone, [3, 4, 1, 2, 3, 4]);
        Assert.False(Cf5102Codec.TryReadInventory(lying, epcs, out _));
    }

    [Fact]
    public void Framing_skips_corrupt_bytes_and_finds_the_next_frame()
    {
        var good = Cf5102Codec.Response(0x00, Cf5102Command.Inventory, Cf5102Command.StatusNoTag);
        var bad = (byte[])good.Clone();
        bad[^1] ^= 1;
        var buffer = new ReadOnlySequence<byte>([0x01, 0x02, .. bad, .. good]);
        var frame = new byte[Cf5102Codec.MaxFrameLength];
        long rejected = 0;

        Assert.True(Cf5102Codec.TryReadFrame(ref buffer, frame, out var n, ref rejected, Cf5102Command.Inventory));
        Assert.Equal(good, frame[..n]);
        Assert.True(rejected >= 3);
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void Random_input_never_throws()
    {
        var rng = new Random(11);
        var frame = new byte[Cf5102Codec.MaxFrameLength];
        var epcs = new Epc[256];
        for (var i = 0; i < 20_000; i++)
        {
            var input = new byte[rng.Next(0, 300)];
            rng.NextBytes(input);
            var buffer = new ReadOnlySequence<byte>(input);
            long rejected = 0;
            while (Cf5102Codec.TryReadFrame(ref buffer, frame, out var n, ref rejected))
            {
                Cf5102Codec.TryReadInventory(frame.AsSpan(0, n), epcs, out _);
            }
        }
    }
}
