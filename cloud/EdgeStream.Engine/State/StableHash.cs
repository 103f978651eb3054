using System.Buffers.Binary;
using System.Numerics;

namespace EdgeStream.Engine.State;

/// <summary>
/// Hashes that are the same in every process and on every machine. Key hashes decide key groups,
/// which decide where state lives after a restore, so <see cref="string.GetHashCode()"/> (randomised
/// per process) must never be used for them.
/// </summary>
public static class StableHash
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;

    /// <summary>Finalising mix of a 64-bit value (the murmur3 fmix64 avalanche).</summary>
    public static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        x ^= x >> 33;
        return x;
    }

    /// <summary>Hash of a byte string; stable across processes, versions and endianness.</summary>
    public static ulong Hash(ReadOnlySpan<byte> data)
    {
        var h = Prime2 ^ ((ulong)data.Length * Prime1);
        while (data.Length >= 8)
        {
            h = BitOperations.RotateLeft(h ^ (BinaryPrimitives.ReadUInt64LittleEndian(data) * Prime1), 31) * Prime2;
            data = data[8..];
        }

        ulong tail = 0;
        for (var i = 0; i < data.Length; i++)
        {
            tail |= (ulong)data[i] << (8 * i);
        }

        h = BitOperations.RotateLeft(h ^ (tail * Prime1), 27) * Prime2;
        return Mix(h);
    }

    /// <summary>Hash of a string's UTF-16 code units; stable across processes.</summary>
    public static ulong Hash(string value)
    {
        var h = Prime2 ^ ((ulong)value.Length * Prime1);
        foreach (var c in value)
        {
            h = BitOperations.RotateLeft(h ^ (c * Prime1), 29) * Prime2;
        }

        return Mix(h);
    }
}

/// <summary>
/// Virtual shards. Every key belongs to one of a fixed number of key groups, chosen from its stable
/// hash; state is stored and checkpointed by key group, so a key group is the unit that moves
/// between tasks and instances. The count is fixed for the life of a job (changing it remaps keys).
/// </summary>
public static class KeyGroups
{
    /// <summary>The largest supported number of key groups.</summary>
    public const int MaxCount = 32_768;

    /// <summary>The key group of a key hash, for <paramref name="count"/> key groups.</summary>
    public static int Of(ulong keyHash, int count) => (int)(((keyHash >> 32) * (ulong)(uint)count) >> 32);

    /// <summary>
    /// The key groups a partition owns when <paramref name="partitions"/> partitions are laid over
    /// <paramref name="count"/> key groups in contiguous ranges (the layout a producer partitioning by
    /// <see cref="PartitionOf"/> creates).
    /// </summary>
    public static Range RangeFor(int partition, int partitions, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, partitions);
        return new Range(FirstGroup(partition, partitions, count), FirstGroup(partition + 1, partitions, count));
    }

    /// <summary>The partition that owns a key group under the contiguous-range layout.</summary>
    public static int PartitionOf(int keyGroup, int partitions, int count) => (int)((long)keyGroup * partitions / count);

    // The smallest key group whose PartitionOf is the partition: ceil(partition * count / partitions).
    private static int FirstGroup(int partition, int partitions, int count) => (int)((((long)partition * count) + partitions - 1) / partitions);
}
