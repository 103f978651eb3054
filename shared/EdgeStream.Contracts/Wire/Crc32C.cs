using System.Buffers.Binary;
using System.Numerics;

namespace EdgeStream.Contracts.Wire;

/// <summary>CRC-32C (Castagnoli), hardware-accelerated where the CPU has it (SSE4.2, ARMv8 CRC32).</summary>
public static class Crc32C
{
    /// <summary>Initial register value.</summary>
    public const uint Seed = 0xFFFFFFFFu;

    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Seed, data));

    /// <summary>Continues a running CRC register over more data.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>Final value of a running register.</summary>
    public static uint Finish(uint crc) => ~crc;
}
