using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Text.Json;
using EdgeStream.Edge.Configuration;
using EdgeStream.Edge.Http;
using EdgeStream.Observability;
using EdgeStream.Edge.Pipeline;
using EdgeStream.Edge.Readers;
using EdgeStream.Outbox;
using EdgeStream.Outbox.Storage;
using EdgeStream.Uplink.Mqtt;
using EdgeStream.Readers;
using EdgeStream.Edge.Scans;

namespace EdgeStream.Edge.Hosting;

/// <summary>The <c>run</c> command: composes readers → read stage → outbox → uplink on the Generic Host, with <c>/healthz</c>, <c>/metrics</c> and <c>POST /api/scans</c> on a loopback port.</summary>
public static class EdgeHost
{
    /// <summary>The meter every edge instrument lives on.</summary>
    public const string MeterName = "EdgeStream.Edge";

    /// <summary>How late a reader may report a read, as the gateway's watermark allows for it.</summary>
    public const long ReaderLatencyUs = 2_000_000;

    /// <summary>Device drivers for <c>llrp://</c> and <c>serial://</c> readers; <c>sim://</c> is built in.</summary>
    private static readonly Func<string, string, ILoggerFactory, IReaderDriver>? DeviceDrivers =
        (uri, id, loggers) => ReaderDrivers.Create(uri, id, loggers);

    /// <summary>Runs the daemon until SIGTERM/SIGINT. Returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        EdgeOptions options;
        try
        {
            options = EdgeConfiguration.Load(args, Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal));
        }
        catch (OptionsException ex)
        {
            await stderr.WriteLineAsync($"edgestream-edge: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        // The empty builder: configuration comes from EdgeConfiguration alone, and nothing is loaded that the
        // daemon does not use (every mapped assembly and JIT'd method is resident memory on the gateway).
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Services.AddSystemd();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));

        // Start-up work that can fail on bad configuration runs before the host, so the message names the key.
        using var loggerFactory = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true));
        var time = TimeProvider.System;
        var meter = new Meter(MeterName);
        var exporter = new PrometheusExporter(meter);
        var metrics = new OutboxMetrics(meter);
        metrics.SeedZeroSeries();
        ProcessMetrics.Register(meter);

        var factory = new DeviceReaderDriverFactory(new BuiltInReaderDriverFactory(time), DeviceDrivers, loggerFactory);
        var drivers = new List<IReaderDriver>();
        for (var i = 0; i < options.Readers.Count; i++)
        {
            var uri = options.Readers[i];
            try
            {
                drivers.Add(factory.Create(uri, ReaderIds.For(uri, i)));
            }
            catch (ArgumentException ex)
            {
                await stderr.WriteLineAsync($"edgestream-edge: Configuration key 'reader': {ex.Message}").ConfigureAwait(false);
                return 2;
            }
        }

        if (drivers.Select(d => d.ReaderId).Distinct(StringComparer.Ordinal).Count() != drivers.Count)
        {
            await stderr.WriteLineAsync("edgestream-edge: Configuration key 'reader': two readers have the same id; give each an id=NAME.").ConfigureAwait(false);
            return 2;
        }

        Outbox.Outbox outbox;
        try
        {
            outbox = Outbox.Outbox.Open(options.Outbox, new FileOutboxStorage(options.DataDir), loggerFactory.CreateLogger<Outbox.Outbox>(), metrics, time);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"edgestream-edge: Configuration key 'data-dir': cannot open the outbox in '{options.DataDir}': {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        // The gateway's watermark holds back what windowing and the outbox may still emit, and 2 s for
        // readers that report late (LLRP report batching); later reads are late at the cloud, never lost.
        var holdback = (options.Windowing is { } w ? WindowingStage.HoldbackUs(w) : 0) + (long)options.Outbox.CommitInterval.TotalMicroseconds + ReaderLatencyUs;
        var uplink = new MqttUplink(options.Uplink, outbox, loggerFactory.CreateLogger<MqttUplink>(), metrics, time, holdback);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(time);
        services.AddSingleton(metrics);
        services.AddSingleton(exporter);
        services.AddSingleton(outbox);
        services.AddSingleton<IOutboxWriter>(outbox);
        services.AddSingleton(uplink);
        if (options.Windowing is { } windowing)
        {
            services.AddSingleton(windowing);
            services.AddSingleton<WindowingStage>();
            services.AddSingleton<IReadStage>(sp => sp.GetRequiredService<WindowingStage>());
        }
        else
        {
            services.AddSingleton<IReadStage, RawReadsStage>();
        }

        services.AddSingleton<OutboxReadSink>();
        services.AddSingleton<IReadOnlyList<IReaderDriver>>(drivers);

        // Stopped in reverse order: readers first, then the final commit, then the uplink (which says offline).
        services.AddHostedService<UplinkHost>();
        services.AddHostedService<OutboxShutdown>();
        if (options.Windowing is not null)
        {
            // Between readers and the final commit: drains and flushes windowing after readers stop.
            services.AddHostedService(sp => sp.GetRequiredService<WindowingStage>());
        }

        services.AddHostedService<ReaderHost>();

        using var host = builder.Build();
        EdgeHttpServer http;
        try
        {
            http = EdgeHttpServer.Bind(options.Http, loggerFactory.CreateLogger<EdgeHttpServer>(), new HttpServerLimits { MaxBodyBytes = EdgeStream.Readers.Scanners.ScanRequest.MaxBodyBytes }, meter);
        }
        catch (SocketException ex)
        {
            await stderr.WriteLineAsync($"edgestream-edge: Configuration key 'http': cannot listen on {options.Http}: {ex.Message}").ConfigureAwait(false);
            await outbox.DisposeAsync().ConfigureAwait(false);
            return 1;
        }

        await using (http.ConfigureAwait(false))
        {
            http.Map("GET", "/metrics", (_, _) => ValueTask.FromResult(HttpResponse.Text(200, exporter.Render(), PrometheusExporter.ContentType)));
            http.Map("GET", "/healthz", (_, _) => ValueTask.FromResult(Health(outbox, uplink)));
            http.MapScanEndpoints(new DurableScanSink(outbox, host.Services.GetRequiredService<OutboxReadSink>()), "handheld", time);

            await host.StartAsync().ConfigureAwait(false);
            http.Start();
            await stdout.WriteLineAsync($"edgestream-edge: gateway {options.GatewayId} listening on http://{http.LocalEndPoint} (/healthz, /metrics, POST {ScanEndpoints.Path})").ConfigureAwait(false);
            await stdout.FlushAsync().ConfigureAwait(false);
            await host.WaitForShutdownAsync().ConfigureAwait(false);
        }

        exporter.Dispose();
        meter.Dispose();
        return 0;
    }

    private static HttpResponse Health(Outbox.Outbox outbox, MqttUplink uplink)
    {
        var error = outbox.LastError;
        var healthy = outbox.IsRunning && error is null;
        var body =
            $"{{\"status\":\"{(healthy ? "ok" : "degraded")}\"," +
            $"\"uplinkConnected\":{(uplink.IsConnected ? "true" : "false")}," +
            $"\"bufferedReads\":{outbox.BufferedReads},\"bufferedEvents\":{outbox.BufferedEvents}," +
            $"\"bufferBytes\":{outbox.BufferBytes},\"oldestAgeSeconds\":{outbox.OldestAge.TotalSeconds:F1}," +
            $"\"lastError\":{(error is null ? "null" : "\"" + JsonEncodedText.Encode(error) + "\"")}}}";

        // Degraded storage is a 503 so monitoring sees it; an unreachable broker is normal on mobile links and stays 200.
        return HttpResponse.Text(healthy ? 200 : 503, body, "application/json");
    }
}
