using System.Net;
using EdgeStream.EventLog.Embedded;
using EdgeStream.Gateways;
using EdgeStream.Ingest;
using MQTTnet.Server;

// Usage: EdgeStream.Ingest.TestHost <state-dir> <port> <gateway-id> <password>
// Wires ingest the way the cloud host does, prints "ready" once the broker listens, and runs until killed.
if (args.Length != 4 || !int.TryParse(args[1], out var port))
{
    await Console.Error.WriteLineAsync("usage: EdgeStream.Ingest.TestHost <state-dir> <port> <gateway-id> <password>");
    return 2;
}

var dir = args[0];
await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = Path.Combine(dir, "log"), Partitions = 4 });
using var pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(dir, "ingest") }, log);
var credentials = new GatewayCredentialStore([new GatewayCredential { GatewayId = args[2], PasswordHash = GatewayPasswords.Hash(args[3], 1000) }]);
using var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
    .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port)
    .WithPersistentSessions(true).Build());
new IngestBrokerPolicy(credentials, pipeline.Metrics).Attach(server, pipeline);
await server.StartAsync();
Console.WriteLine("ready");
await Task.Delay(Timeout.Infinite);
return 0;
