using MQTTnet;
using MQTTnet.Adapter;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Broker_refuses_unknown_gateways_and_wrong_passwords
{
    [Theory]
    [InlineData("gw-unknown", "gw-unknown", EmbeddedBrokerHarness.Password)]
    [InlineData("gw-a", "gw-a", "wrong")]
    [InlineData("gw-a", "gw-b", EmbeddedBrokerHarness.Password)]
    [InlineData("gw-a", "gw-a", null)]
    public async Task Connection_is_refused_with_bad_credentials_and_counted(string clientId, string user, string? password)
    {
        await using var h = await EmbeddedBrokerHarness.StartAsync(gateways: ["gw-a", "gw-b"]);
        using var client = new MqttClientFactory().CreateMqttClient();
        try
        {
            var result = await client.ConnectAsync(h.ClientOptions(clientId, user, password).Build());
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, result.ResultCode);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException ex)
        {
            Assert.Contains("BadUserNameOrPassword", ex.ToString());
        }

        Assert.Equal(1, h.Metrics.Refusals("connect"));
        Assert.False(client.IsConnected);

        using var good = await h.ConnectAsync("gw-a");
        Assert.True(good.IsConnected);
    }
}
