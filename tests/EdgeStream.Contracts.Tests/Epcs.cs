using EdgeStream.Contracts;

namespace EdgeStream.Contracts.Tests;

[Trait("Capability", "Foundation")]
public sealed class Epcs
{
    [Theory]
    [InlineData("300833B2DDD9014000000000")]
    [InlineData("E2")]
    [InlineData("E2801160600002086F53FE5BE2801160600002086F53FE5B00112233")] // 224 bits, inline
    [InlineData("E2801160600002086F53FE5BE2801160600002086F53FE5BE2801160600002086F53FE5B0011")] // 312 bits, spilled
    public void Hex_round_trips_in_uppercase(string hex)
    {
        var epc = Epc.ParseHex(hex.ToLowerInvariant());

        Assert.Equal(hex, epc.ToString());
        Assert.Equal(hex.Length * 4, epc.BitLength);
        Assert.Equal(epc, Epc.ParseHex(hex));
        Assert.Equal(epc.GetHashCode(), Epc.ParseHex(hex).GetHashCode());
    }

    [Fact]
    public void Different_lengths_with_same_leading_bytes_are_different_epcs()
    {
        var a = Epc.FromBytes([0xAB, 0x00]);
        var b = Epc.FromBytes([0xAB]);

        Assert.NotEqual(a, b);
        Assert.True(b < a);
    }

    [Fact]
    public void Bit_length_that_is_not_a_whole_byte_is_kept()
    {
        var epc = Epc.FromBytes([0xAB, 0xC0], bitLength: 10);

        Assert.Equal(10, epc.BitLength);
        Assert.Equal(2, epc.ByteLength);
        Assert.Equal("ABC0", epc.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ABC")]
    [InlineData("GG")]
    [InlineData("0x12")]
    public void Bad_hex_is_refused_with_a_clear_error(string hex)
    {
        Assert.False(Epc.TryParseHex(hex, out _));
        var ex = Assert.Throws<FormatException>(() => Epc.ParseHex(hex));
        Assert.Contains("hex digits", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_496_bits_is_refused()
    {
        Assert.False(Epc.TryFromBytes(new byte[63], -1, out _));
        Assert.True(Epc.TryFromBytes(new byte[62], -1, out var max));
        Assert.Equal(496, max.BitLength);
    }
}
