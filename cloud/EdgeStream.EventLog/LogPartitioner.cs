namespace EdgeStream.EventLog;

/// <summary>
/// Maps a key to a partition with Kafka's default partitioner (murmur2, as the Java client and
/// librdkafka's <c>murmur2_random</c> do), so a tag lands in the same partition number whether the
/// deployment runs the embedded log or Kafka.
/// </summary>
public static class LogPartitioner
{
    /// <summary>The partition of <paramref name="key"/> among <paramref name="partitionCount"/>.</summary>
    public static int PartitionFor(ReadOnlySpan<byte> key, int partitionCount) =>
        (int)((Murmur2(key) & 0x7fffffff) % (uint)partitionCount);

    /// <summary>Kafka's murmur2 (seed 0x9747b28c).</summary>
    public static uint Murmur2(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        var length = data.Length;
        var h = 0x9747b28c ^ (uint)length;
        var i = 0;
        for (; i + 4 <= length; i += 4)
        {
            var k = (uint)(data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }

        switch (length - i)
        {
            case 3:
                h ^= (uint)data[i + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[i + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[i];
                h *= m;
                break;
        }

        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return h;
    }
}
