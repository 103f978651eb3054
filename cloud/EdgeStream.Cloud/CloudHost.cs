using System.Net;
using EdgeStream.Gateways;
using EdgeStream.Cloud.Http;
using EdgeStream.Cloud.Mqtt;
using EdgeStream.Cloud.Notifications;
using EdgeStream.Cloud.Tracking;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Kafka;
using EdgeStream.Ingest;
using EdgeStream.Observability;
using EdgeStream.Tracking.Storage;
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
        if (args.Length > 0 && args[0] == "hash-password")
        {
            return await HashPasswordAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] is "db" or "assets" or "workflows" or "rules")
        {
            return await CloudCommands.RunAsync(args);
        }

        WebApplication app;
        try
        {
            (app, var endpoints) = await BuildAsync(args);
            await app.StartAsync();
            var http = endpoints.Http.Select(l => $"http://{l.IPEndPoint}/").ToList();

            // Scripts and tests read these lines to find the bound ports.
            Console.Out.WriteLine($"cloud: portal {string.Join(' ', http)}");
            if (endpoints.Mqtt is { } mqtt)
            {
                Console.Out.WriteLine($"cloud: mqtt {mqtt.IPEndPoint}");
            }

            if (endpoints.Mqtts is { } mqtts)
            {
                Console.Out.WriteLine($"cloud: mqtts {mqtts.IPEndPoint}");
            }

            Console.Out.WriteLine("cloud: ready");

            await Console.Out.FlushAsync();
        }
        catch (OptionsException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: {ex.Message}");
            return 2;
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: configuration: {ex.Message}");
            return 2;
        }
        catch (EdgeStream.EventLog.EventLogException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: cannot open the event log: {ex.Message}");
            return 1;
        }
        catch (System.Data.Common.DbException ex)
        {
            await Console.Error.WriteLineAsync($"edgestream-cloud: cannot open the tracking database: {ex.Message}");
            return 1;
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

        /// <summary>The embedded broker's plain listener; null when off or ingesting from an external broker.</summary>
        public ListenOptions? Mqtt { get; set; }

        /// <summary>The embedded broker's TLS listener, if configured.</summary>
        public ListenOptions? Mqtts { get; set; }
    }

    /// <summary>Builds the application without starting it: opens the event log and the ingest pipeline.</summary>
    public static async Task<(WebApplication App, Endpoints Endpoints)> BuildAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddEnvironmentVariables("EDGESTREAM_CLOUD_");
        var options = CloudOptions.From(builder.Configuration);
        Directory.CreateDirectory(options.DataDir);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var ingest = options.Role is CloudRole.All or CloudRole.Ingest;
        var stream = options.Role is CloudRole.All or CloudRole.Stream;
        var api = options.Role is CloudRole.All or CloudRole.Api;
        var credentials = options.GatewaysFile is null ? new GatewayCredentialStore([]) : GatewayCredentialStore.LoadJson(options.GatewaysFile);
        var bound = new Endpoints();
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (var ep in options.HttpEndpoints)
            {
                k.Listen(ep, l => bound.Http.Add(l));
            }

            if (ingest && options.Broker is null && options.PlainMqtt)
            {
                k.Listen(options.MqttEndpoint, l =>
                {
                    bound.Mqtt = l;
                    l.UseMqtt();
                });
            }

            if (ingest && options.Broker is null && options.MqttsEndpoint is { } tlsEndpoint)
            {
                var certificate = new IngestTlsOptions
                {
                    CertificatePath = options.MqttsCertificate!,
                    KeyPath = options.MqttsKey,
                    CertificatePassword = options.MqttsCertificatePassword,
                }.LoadCertificate();
                k.Listen(tlsEndpoint, l =>
                {
                    bound.Mqtts = l;
                    l.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = certificate,
                        SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,

                        // Gateways use self-issued certificates pinned by thumbprint in the gateways
                        // file: the pin decides, not a chain. Without a certificate a password may do.
                        ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate,
                        ClientCertificateValidation = (cert, _, _) => credentials.IsKnownCertificate(cert),
                    });
                    l.UseMqtt();
                });
            }
        });

        // Every role but the API reads or writes the log; every role but ingest uses the database.
        var log = ingest || stream ? await EventLogSelection.OpenAsync(options.EventLog) : null;
        IngestPipeline? pipeline = null;
        ITrackingStore? store = null;
        try
        {
            if (ingest)
            {
                pipeline = await IngestPipeline.OpenAsync(
                    new IngestOptions { StateDirectory = Path.Combine(options.DataDir, "ingest") },
                    log!,
                    new IngestMetrics());
            }

            if (stream || api)
            {
                store = CloudCommands.OpenStore(options.Tracking);
                await store.MigrateAsync(CancellationToken.None);
            }
        }
        catch
        {
            pipeline?.Dispose();
            if (store is not null)
            {
                await store.DisposeAsync();
            }

            if (log is not null)
            {
                await log.DisposeAsync();
            }

            throw;
        }

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(_ => new PrometheusExporter(GatewayTraffic.MeterName, IngestMetrics.MeterName, "EdgeStream.Engine", EdgeStream.Tracking.TrackingSink.MeterName, EdgeStream.Cloud.Tracking.TrackingHost.MeterName));
        builder.Services.AddSingleton(credentials);
        builder.Services.AddSingleton(sp => new GatewayDirectory(sp.GetRequiredService<TimeProvider>(), options.GatewayTimeout));
        builder.Services.AddSingleton<GatewayTraffic>();
        builder.Services.AddSingleton<EdgeStream.Tracking.CommitSignal>();
        if (log is not null)
        {
            builder.Services.AddSingleton(log);

            // Hosted services stop in reverse order: the log is closed only after its readers stopped.
            builder.Services.AddHostedService(sp => new LogLifetime(pipeline, log, sp.GetRequiredService<ILogger<LogLifetime>>()));
        }

        if (pipeline is not null)
        {
            builder.Services.AddSingleton(pipeline);
        }

        if (store is not null)
        {
            builder.Services.AddSingleton(store);
            builder.Services.AddSingleton((IWorkflowStore)store);
            builder.Services.AddSingleton((IManualEventStore)store);
            builder.Services.AddHostedService(_ => new StoreLifetime(store));

            // Started before the tracking job, which runs its workflows.
            builder.Services.AddSingleton<DefinitionDirectory>();
            builder.Services.AddHostedService(sp => new DefinitionLifetime(sp.GetRequiredService<DefinitionDirectory>(), options.Tracking.WorkflowsFolder, options.Tracking.RulesFolder));
            builder.Services.AddHostedService(sp => new AlertEscalation((IWorkflowStore)store, options.Alerts, sp.GetRequiredService<ILogger<AlertEscalation>>()));
            builder.Services.AddSingleton((INotificationStore)store);
            if (options.Notifications is { } notifications && (notifications.Webhooks.Count > 0 || notifications.MqttBroker is not null))
            {
                builder.Services.AddSingleton(sp => new NotificationDispatcher(
                    (INotificationStore)store,
                    NotificationChannelsOf(notifications, sp.GetRequiredService<TimeProvider>()),
                    notifications,
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<NotificationDispatcher>>(),
                    sp.GetRequiredService<EdgeStream.Tracking.CommitSignal>()));
                builder.Services.AddHostedService(sp => sp.GetRequiredService<NotificationDispatcher>());
            }
        }

        if (log is not null && store is not null)
        {
            builder.Services.AddSingleton(sp => new ManualEventRelay((IManualEventStore)store, log, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ManualEventRelay>>()));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ManualEventRelay>());
        }

        if (stream)
        {
            builder.Services.AddSingleton(sp => new TrackingHost(log!, store!, options, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<EdgeStream.Tracking.CommitSignal>(), sp.GetRequiredService<DefinitionDirectory>()));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<TrackingHost>());
        }

        if (ingest && options.Broker is { } broker)
        {
            builder.Services.AddHostedService(sp => new ExternalBrokerHost(
                new ExternalBrokerIngest(ExternalBrokerOptions.Parse(broker), pipeline!, sp.GetRequiredService<ILogger<ExternalBrokerIngest>>())));
        }
        else if (ingest)
        {
            builder.Services.AddHostedMqttServer(o => o.WithoutDefaultEndpoint().WithPersistentSessions(true));
            builder.Services.AddMqttConnectionHandler();
            builder.Services.AddConnections();
        }

        var app = builder.Build();

        // Created before traffic so every counter is seen from its first increment.
        app.Services.GetRequiredService<PrometheusExporter>();
        if (pipeline is not null)
        {
            var gateways = app.Services.GetRequiredService<GatewayDirectory>();
            pipeline.BatchAppended += b => gateways.OnLogged(b.GatewayId, b.Sequence, b.Class, b.Count);
            gateways.ClockSkew = pipeline.ClockSkew;
        }

        if (ingest && options.Broker is null)
        {
            if (credentials.Count == 0)
            {
                app.Logger.LogWarning("No gateway credentials (--gateways FILE): every gateway connection will be refused.");
            }

            app.UseMqttServer(server => AttachBroker(server, app.Services));
        }

        app.UseSecurityHeaders();
        app.UseProblemDetailsForFailures();
        app.MapCloudApi();
        app.MapReadiness();
        if (api)
        {
            app.MapTrackingApi();
            app.MapWorkflowApi();
            app.MapRuleApi();
            app.MapManualApi();
            app.MapPortal();
        }

        return (app, bound);
    }

    private static void AttachBroker(MqttServer server, IServiceProvider services)
    {
        var pipeline = services.GetRequiredService<IngestPipeline>();
        var policy = new IngestBrokerPolicy(services.GetRequiredService<GatewayCredentialStore>(), pipeline.Metrics, services.GetRequiredService<ILogger<IngestBrokerPolicy>>());

        // The policy authenticates, authorises and ingests (PUBACK after the durable append); it runs
        // first, so the handlers below see only what it let through.
        policy.Attach(server, pipeline);
        var traffic = services.GetRequiredService<GatewayTraffic>();
        var gateways = services.GetRequiredService<GatewayDirectory>();
        server.InterceptingPublishAsync += e =>
        {
            if (e.SessionItems?[IngestBrokerPolicy.GatewaySessionKey] is string gatewayId && e.Response.ReasonCode == MQTTnet.Protocol.MqttPubAckReasonCode.Success)
            {
                traffic.Handle(gatewayId, e.ApplicationMessage.Topic, e.ApplicationMessage.Payload);
            }

            return Task.CompletedTask;
        };
        server.ClientConnectedAsync += e =>
        {
            if (e.SessionItems[IngestBrokerPolicy.GatewaySessionKey] is string gatewayId)
            {
                gateways.OnTraffic(gatewayId);
            }

            return Task.CompletedTask;
        };
        server.ClientDisconnectedAsync += e =>
        {
            if (e.SessionItems?[IngestBrokerPolicy.GatewaySessionKey] is string gatewayId)
            {
                gateways.OnDisconnected(gatewayId);
            }

            return Task.CompletedTask;
        };
    }

    private static async Task<int> HashPasswordAsync(string[] args)
    {
        // Reads the password from stdin so it never appears in the process list or shell history.
        if (args.Length != 0)
        {
            await Console.Error.WriteLineAsync("usage: edgestream-cloud hash-password < password-file   (prints a passwordHash for the gateways file)");
            return 2;
        }

        var password = (await Console.In.ReadLineAsync())?.TrimEnd('\r');
        if (string.IsNullOrEmpty(password))
        {
            await Console.Error.WriteLineAsync("edgestream-cloud: hash-password: no password on standard input");
            return 2;
        }

        await Console.Out.WriteLineAsync(GatewayPasswords.Hash(password));
        return 0;
    }

    private static List<INotificationChannel> NotificationChannelsOf(NotificationSettings settings, TimeProvider time)
    {
        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
        List<INotificationChannel> channels = [.. settings.Webhooks.Select(h => new WebhookChannel(h, http, time))];
        if (settings.MqttBroker is { } broker)
        {
            channels.Add(new MqttChannel(new Uri(broker), settings.MqttTopic));
        }

        return channels;
    }

    private sealed class DefinitionLifetime(DefinitionDirectory definitions, string? workflowsFolder, string? rulesFolder) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => definitions.StartAsync(workflowsFolder, rulesFolder, cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken) => await definitions.DisposeAsync();
    }

    private sealed class StoreLifetime(ITrackingStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken) => await store.DisposeAsync();
    }

    private sealed class LogLifetime(IngestPipeline? pipeline, IEventLog log, ILogger<LogLifetime> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (pipeline?.RecoveredBatches > 0)
            {
                logger.LogInformation("Recovered dedupe marks of {Count} batches from the log tail.", pipeline.RecoveredBatches);
            }

            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            pipeline?.Dispose();
            await log.DisposeAsync();
        }
    }

    private sealed class ExternalBrokerHost(ExternalBrokerIngest ingest) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => ingest.StartAsync(cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await ingest.StopAsync();
            await ingest.DisposeAsync();
        }
    }
}
