using EdgeStream.Contracts;
using MQTTnet;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Broker_refuses_and_counts_a_gateway_publishing_under_another_id
{
    [Fact]
    public async Task Publishing_under_another_gateways_topic_is_refused_counted_and_not_ingested()
    {
        await using var h = await EmbeddedBrokerHarness.StartAsync(gateways: ["gw-a", "gw-b"]);
        using var exporter = new EdgeStream.Observability.PrometheusExporter(h.Metrics.Meter);
        using var a = await h.ConnectAsync("gw-a");

        // gw-a forges a batch of gw-b, on gw-b's topic.
        var forged = await a.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-b", 1)));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);

        // Not even its own config topic may be published to by a gateway.
        var config = await a.PublishAsync(TestBatches.Message(Topics.For("gw-a", TopicKind.Config), [1]));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, config.ReasonCode);

        Assert.Equal(2, h.Metrics.Refusals("publish"));
        Assert.Equal(0, await h.LogEndAsync());
        Assert.False(h.Pipeline.HasSeen("gw-b", 1));

        // Its own traffic still flows on the same connection.
        var own = await a.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-a", 1, 5)));
        Assert.Equal(MqttClientPublishReasonCode.Success, own.ReasonCode);
        Assert.Equal(5, await h.LogEndAsync());
        Assert.Contains("edgestream_cloud_broker_refusals_total{kind=\"publish\"} 2\n", exporter.Render());
    }
}
