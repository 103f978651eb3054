using EdgeStream.Contracts;

namespace EdgeStream.Contracts.Tests;

[Trait("Capability", "Foundation")]
public sealed class Mqtt_topics
{
    [Theory]
    [InlineData(TopicKind.Reads, "edgestream/v1/gw/gw-01/reads")]
    [InlineData(TopicKind.Events, "edgestream/v1/gw/gw-01/events")]
    [InlineData(TopicKind.Status, "edgestream/v1/gw/gw-01/status")]
    [InlineData(TopicKind.Config, "edgestream/v1/gw/gw-01/config")]
    [InlineData(TopicKind.ConfigApplied, "edgestream/v1/gw/gw-01/config/applied")]
    public void Topics_follow_the_scheme_and_parse_back(TopicKind kind, string expected)
    {
        var topic = Topics.For("gw-01", kind);

        Assert.Equal(expected, topic);
        Assert.True(Topics.TryParse(topic, out var gw, out var parsed));
        Assert.Equal("gw-01", gw);
        Assert.Equal(kind, parsed);
    }

    [Theory]
    [InlineData("edgestream/v2/gw/a/reads")]
    [InlineData("edgestream/v1/gw//reads")]
    [InlineData("edgestream/v1/gw/a+b/reads")]
    [InlineData("edgestream/v1/gw/a/unknown")]
    [InlineData("edgestream/v1/gw/a")]
    [InlineData("other/topic")]
    public void Foreign_and_malformed_topics_do_not_parse(string topic) =>
        Assert.False(Topics.TryParse(topic, out _, out _));

    [Theory]
    [InlineData("")]
    [InlineData("with space")]
    [InlineData("slash/inside")]
    [InlineData("#")]
    public void Invalid_gateway_ids_are_refused(string id)
    {
        var ex = Assert.Throws<ArgumentException>(() => Topics.For(id, TopicKind.Reads));
        Assert.Contains("Gateway id", ex.Message, StringComparison.Ordinal);
    }
}
