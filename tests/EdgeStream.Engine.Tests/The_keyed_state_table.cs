using EdgeStream.Engine.State;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class The_keyed_state_table
{
    /// <summary>Well-mixed hashes, hashes equal in their upper 32 bits (the index's tag), and only a few distinct hashes.</summary>
    public static TheoryData<int, string> Hashings => new()
    {
        { 1, "mixed" },
        { 2, "same-tag" },
        { 3, "few" },
    };

    private static ulong HashOf(ulong key, string hashing) => hashing switch
    {
        "mixed" => StableHash.Mix(key),
        "same-tag" => 0xABCD_0000_0000_0000UL | (StableHash.Mix(key) & 0xFFFF_FFFF),
        _ => StableHash.Mix(key % 5),
    };

    [Theory]
    [MemberData(nameof(Hashings))]
    public void Keys_keep_their_slot_and_state_through_adds_removals_and_growth(int seed, string hashing)
    {
        var rng = new Random(seed);
        var table = new KeyedStateTable<ulong, long>(capacity: 16);
        var slots = new Dictionary<ulong, int>();
        var maxKey = hashing == "few" ? 300 : 5_000;
        for (var step = 0; step < 60_000; step++)
        {
            var key = (ulong)rng.Next(maxKey);
            var hash = HashOf(key, hashing);
            switch (rng.Next(10))
            {
                case < 6:
                    var slot = table.FindOrAdd(key, hash, out var added);
                    Assert.Equal(!slots.ContainsKey(key), added);
                    if (added)
                    {
                        Assert.Equal(0, table.At(slot).State);
                        slots[key] = slot;
                    }
                    else
                    {
                        Assert.Equal(slots[key], slot);
                    }

                    table.At(slot).State = (long)key * 7;
                    break;
                case < 9:
                    if (slots.Remove(key, out var gone))
                    {
                        table.Remove(gone);
                        Assert.False(KeyedStateTable<ulong, long>.IsLive(table.At(gone)));
                    }

                    Assert.Equal(-1, table.Find(key, hash));
                    break;
                default:
                    var found = table.Find(key, hash);
                    Assert.Equal(slots.TryGetValue(key, out var expected) ? expected : -1, found);
                    break;
            }

            if (step % 10_000 == 9_999)
            {
                Assert.Equal(slots.Count, table.Count);
                foreach (var (k, s) in slots)
                {
                    Assert.Equal(s, table.Find(k, HashOf(k, hashing)));
                    Assert.Equal((long)k * 7, table.At(s).State);
                }

                var live = 0;
                for (var s = 0; s < table.HighWater; s++)
                {
                    live += KeyedStateTable<ulong, long>.IsLive(table.At(s)) ? 1 : 0;
                }

                Assert.Equal(slots.Count, live);
            }
        }
    }

    [Fact]
    public void Removing_a_slot_the_index_does_not_hold_fails_loudly_instead_of_looping()
    {
        var table = new KeyedStateTable<ulong, long>(capacity: 16);
        var slot = table.FindOrAdd(1, StableHash.Mix(1), out _);
        table.Remove(slot);
        var error = Assert.Throws<InvalidOperationException>(() => table.Remove(slot));
        Assert.Contains("missing from the key index", error.Message);
    }

    [Fact]
    public void Growing_ahead_and_clearing_keep_lookups_right()
    {
        var table = new KeyedStateTable<ulong, long>(capacity: 16);
        for (ulong k = 0; k < 100; k++)
        {
            table.At(table.FindOrAdd(k, StableHash.Mix(k), out _)).State = (long)k;
        }

        table.EnsureCapacity(10_000);
        Assert.True(table.Entries.Length >= 10_000);
        for (ulong k = 0; k < 100; k++)
        {
            Assert.Equal((long)k, table.At(table.Find(k, StableHash.Mix(k))).State);
        }

        table.Clear();
        Assert.Equal(0, table.Count);
        Assert.Equal(-1, table.Find(5, StableHash.Mix(5)));
        var slot = table.FindOrAdd(5, StableHash.Mix(5), out var added);
        Assert.True(added);
        Assert.Equal(0, slot);
    }
}
