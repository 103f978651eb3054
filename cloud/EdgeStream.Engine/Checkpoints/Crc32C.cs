using System.Buffers.Binary;
using System.Numerics;

namespace EdgeStream.Engine.Checkpoints;

/// <summary>
/// CRC-32C over checkpoint files. The engine carries its own copy so that it depends on nothing
/// of the product's contracts; the instruction is hardware-accelerated on x64 and ARMv8.
/// </summary>
/// <remarks>Public so that other checkpoint stores (on a database, say) seal their payloads the same way.</remarks>
public static class Crc32C
{
    public const uint Seed = 0xFFFFFFFFu;

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

    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(Seed, data);
}
