using EdgeStream.Engine;
using EdgeStream.Engine.State;

namespace EdgeStream.Engine.Tests;

[Trait("Capability", "Engine")]
public sealed class Options_and_key_groups
{
    [Theory]
    [InlineData("OutOfOrdernessUs")]
    [InlineData("KeyGroupCount")]
    [InlineData("IdleTimeout")]
    [InlineData("RetainedCheckpoints")]
    [InlineData("MaxBufferedEvents")]
    public void Invalid_options_are_refused_with_the_key_named(string key)
    {
        var options = key switch
        {
            "OutOfOrdernessUs" => new EngineOptions { OutOfOrdernessUs = -1 },
            "KeyGroupCount" => new EngineOptions { KeyGroupCount = 0 },
            "IdleTimeout" => new EngineOptions { IdleTimeout = TimeSpan.Zero },
            "RetainedCheckpoints" => new EngineOptions { RetainedCheckpoints = 0 },
            _ => new EngineOptions { MaxBufferedEvents = 1 },
        };
        var ex = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Contains($"Engine:{key}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_valid() => new EngineOptions().Validate();

    [Theory]
    [InlineData(1, 128)]
    [InlineData(3, 128)]
    [InlineData(7, 64)]
    [InlineData(128, 128)]
    public void Partition_ranges_cover_every_key_group_exactly_once(int partitions, int groups)
    {
        var owners = new int[groups];
        for (var p = 0; p < partitions; p++)
        {
            var range = KeyGroups.RangeFor(p, partitions, groups);
            for (var g = range.Start.Value; g < range.End.Value; g++)
            {
                owners[g]++;
                Assert.Equal(p, KeyGroups.PartitionOf(g, partitions, groups));
            }
        }

        Assert.All(owners, n => Assert.Equal(1, n));
    }

    [Fact]
    public void Key_groups_spread_keys_evenly_and_are_stable()
    {
        var counts = new int[64];
        for (ulong k = 0; k < 64_000; k++)
        {
            counts[KeyGroups.Of(StableHash.Mix(k), 64)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
        // Pinned: a change here silently moves every key to another key group and breaks restores.
        Assert.Equal(9021752380082015899UL, StableHash.Hash("tag-1"));
        Assert.Equal(3542197013219734275UL, StableHash.Hash("tag-1"u8));
        Assert.NotEqual(StableHash.Hash("tag-1"), StableHash.Hash("tag-2"));
        Assert.Equal(StableHash.Hash("abc"u8), StableHash.Hash("abc"u8.ToArray()));
    }
}
