using EdgeStream.Engine.Sources.EventLog;
using EdgeStream.Engine.Sinks.Kafka;

namespace EdgeStream.Engine.Sources.EventLog.Tests;

/// <summary>The event-log source's and the Kafka sink's options refuse bad values with a message naming the key.</summary>
[Trait("Capability", "Engine")]
public sealed class Source_and_sink_options
{
    [Fact]
    public void The_exactly_once_switch_requires_a_transactional_id_prefix_an_input_topic_and_a_group()
    {
        var plain = new KafkaOutputSinkOptions { BootstrapServers = "localhost:9092", Topic = "out" };
        Assert.Same(plain, plain.Validate());

        var on = plain with { Transactional = true };
        Assert.Contains("TransactionalIdPrefix", Assert.Throws<ArgumentException>(() => on.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("InputTopic", Assert.Throws<ArgumentException>(() => (on with { TransactionalIdPrefix = "eo" }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("GroupId", Assert.Throws<ArgumentException>(() => (on with { TransactionalIdPrefix = "eo", InputTopic = "in" }).Validate()).Message, StringComparison.Ordinal);
        var complete = on with { TransactionalIdPrefix = "eo", InputTopic = "in", GroupId = "g" };
        Assert.Same(complete, complete.Validate());
    }

    [Theory]
    [InlineData("ChunkRecords")]
    [InlineData("ChunksPerPartition")]
    [InlineData("PollInterval")]
    [InlineData("EndOffsetRefresh")]
    [InlineData("GroupId")]
    public void Source_options_out_of_range_are_refused_naming_the_key(string key)
    {
        var good = new EventLogSourceOptions { GroupId = "engine" };
        var bad = key switch
        {
            "ChunkRecords" => good with { ChunkRecords = 0 },
            "ChunksPerPartition" => good with { ChunksPerPartition = 0 },
            "PollInterval" => good with { PollInterval = TimeSpan.Zero },
            "EndOffsetRefresh" => good with { EndOffsetRefresh = TimeSpan.FromMilliseconds(1) },
            _ => good with { GroupId = "not a group" },
        };
        Assert.Same(good, good.Validate());
        Assert.Contains(key, Assert.Throws<ArgumentException>(() => bad.Validate()).Message, StringComparison.Ordinal);
    }
}
