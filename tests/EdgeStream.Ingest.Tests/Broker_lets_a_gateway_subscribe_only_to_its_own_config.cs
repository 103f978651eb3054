using EdgeStream.Contracts;
using MQTTnet;
using MQTTnet.Server;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Broker_lets_a_gateway_subscribe_only_to_its_own_config
{
    [Fact]
    public async Task Own_config_is_granted_and_delivered_others_are_refused_and_counted()
    {
        await using var h = await EmbeddedBrokerHarness.StartAsync(gateways: ["gw-a", "gw-b"]);
        using var a = await h.ConnectAsync("gw-a");
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.ApplicationMessageReceivedAsync += e =>
        {
            received.TrySetResult(e.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };

        var result = await a.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.For("gw-a", TopicKind.Config), MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(Topics.For("gw-b", TopicKind.Config), MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(Topics.AllGateways, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());

        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, result.Items.ElementAt(0).ResultCode);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, result.Items.ElementAt(1).ResultCode);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, result.Items.ElementAt(2).ResultCode);
        Assert.Equal(2, h.Metrics.Refusals("subscribe"));

        // The host pushes configuration into the broker; the policy lets its own messages through.
        await h.Server.InjectApplicationMessage(new InjectedMqttApplicationMessage(
            TestBatches.Message(Topics.For("gw-a", TopicKind.Config), "{\"version\":3}"u8.ToArray())));
        Assert.Equal(Topics.For("gw-a", TopicKind.Config), await received.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
