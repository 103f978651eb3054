using EdgeStream.Uplink.Mqtt;

namespace EdgeStream.Edge.Hosting;

/// <summary>Runs the MQTT uplink for the daemon's lifetime.</summary>
public sealed class UplinkHost(MqttUplink uplink) : BackgroundService
{
    /// <inheritdoc/>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => uplink.RunAsync(stoppingToken);
}

/// <summary>Commits what the readers delivered before the daemon exits (the outbox is closed by the container after this).</summary>
public sealed class OutboxShutdown(EdgeStream.Outbox.Outbox outbox, ILogger<OutboxShutdown> logger) : IHostedService
{
    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await outbox.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogError("Final outbox commit failed: {Error}", ex.Message);
        }
    }
}
