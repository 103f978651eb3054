using System.Net;
using EdgeStream.Cloud.Assets;
using EdgeStream.Cloud.Gateways;
using EdgeStream.Cloud.Http;
using EdgeStream.Cloud.Mqtt;
using EdgeStream.Observability;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using MQTTnet.AspNetCore;
using MQTTnet.Server;

namespace EdgeStream.Cloud;

/// <summary>
/// Builds and runs the cloud service: one Kestrel server carrying the HTTP API and portal and the
/// embedded MQTT broker's TCP listener, so both are bound (port 0 included) and read back the same way.
/// </summary>
public static class CloudHost
{
    /// <summary>Runs until SIGTERM/Ctrl-C. Exit code 2 for bad configuration.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        WebApplication app;
        try
        {
            app = Build(args, out var endpoints);
            await app.StartAsync();
            var http = endpoints.Http.Select(l => $"http://{l.IPEndPoint}/").ToList();
            var mqtt = endpoints.Mqtt.IPEndPoint!;

            // Scripts and tests read these two lines to find the bound ports.
            Console.Out.WriteLine($"cloud: portal {string.Join(' ', http)}");
            Console.Out.WriteLine($"cloud: mqtt {mqtt}");
            await Console.Out.FlushAsync();
        }
        catch (OptionsException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: {ex.Message}");
            return 2;
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: cannot listen: {ex.Message}");
            return 1;
        }

        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return 0;
    }

    /// <summary>The listeners, whose <see cref="ListenOptions.IPEndPoint"/> holds the bound port after start.</summary>
    public sealed class Endpoints
    {
        /// <summary>HTTP listeners.</summary>
        public List<ListenOptions> Http { get; } = [];

        /// <summary>The MQTT listener.</summary>
        public ListenOptions Mqtt { get; set; } = null!;
    }

    /// <summary>Builds the application without starting it.</summary>
    public static WebApplication Build(string[] args, out Endpoints endpoints)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddEnvironmentVariables("EDGESTREAM_CLOUD_");
        var options = CloudOptions.From(builder.Configuration);
        Directory.CreateDirectory(options.DataDir);

        var bound = new Endpoints();
        endpoints = bound;
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (var ep in options.HttpEndpoints)
            {
                k.Listen(ep, l => bound.Http.Add(l));
            }

            k.Listen(options.MqttEndpoint, l =>
            {
                bound.Mqtt = l;
                l.UseMqtt();
            });
        });

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(_ => new PrometheusExporter(GatewayTraffic.MeterName));
        builder.Services.AddSingleton<AssetDirectory>();
        builder.Services.AddSingleton(sp => new GatewayDirectory(sp.GetRequiredService<TimeProvider>(), options.GatewayTimeout));
        builder.Services.AddSingleton<GatewayTraffic>();
        builder.Services.AddHostedMqttServer(o => o.WithoutDefaultEndpoint().WithPersistentSessions(true));
        builder.Services.AddMqttConnectionHandler();
        builder.Services.AddConnections();

        var app = builder.Build();
        app.Services.GetRequiredService<PrometheusExporter>();
        app.UseMqttServer(server => AttachBroker(server, app.Services));
        app.MapCloudApi();
        app.MapPortal();
        return app;
    }

    private static void AttachBroker(MqttServer server, IServiceProvider services)
    {
        var traffic = services.GetRequiredService<GatewayTraffic>();
        var gateways = services.GetRequiredService<GatewayDirectory>();

        // MQTT client ids are the gateway's to choose; learn which gateway a client speaks for from
        // what it publishes, so connection events can be attributed to it.
        var gatewayOfClient = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        server.InterceptingPublishAsync += e =>
        {
            if (e.ClientId is null or "")
            {
                return Task.CompletedTask; // the broker's own messages (retained replays)
            }

            var topic = e.ApplicationMessage.Topic;
            if (traffic.Handle(e.ClientId, topic, e.ApplicationMessage.Payload) == TrafficOutcome.Accepted
                && EdgeStream.Contracts.Topics.TryParse(topic, out var gatewayId, out _))
            {
                gatewayOfClient[e.ClientId] = gatewayId;
            }

            return Task.CompletedTask;
        };
        server.ClientConnectedAsync += e =>
        {
            if (gatewayOfClient.TryGetValue(e.ClientId, out var gatewayId))
            {
                gateways.OnConnected(gatewayId);
            }

            return Task.CompletedTask;
        };
        server.ClientDisconnectedAsync += e =>
        {
            if (gatewayOfClient.TryGetValue(e.ClientId, out var gatewayId))
            {
                gateways.OnDisconnected(gatewayId);
            }

            return Task.CompletedTask;
        };
    }
}
