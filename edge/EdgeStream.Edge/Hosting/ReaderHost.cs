using EdgeStream.Edge.Pipeline;
using EdgeStream.Readers;

namespace EdgeStream.Edge.Hosting;

/// <summary>Runs every configured reader driver into the pipeline until the daemon stops.</summary>
public sealed partial class ReaderHost(IReadOnlyList<IReaderDriver> drivers, OutboxReadSink sink, ILogger<ReaderHost> logger) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var runs = drivers.Select(d => RunOne(d, stoppingToken)).ToList();
        await Task.WhenAll(runs).ConfigureAwait(false);
    }

    private async Task RunOne(IReaderDriver driver, CancellationToken stoppingToken)
    {
        // A driver reconnects by itself; one that throws is restarted here after a pause, so a
        // bug in one reader's handling never stops the others or the daemon.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await driver.RunAsync(sink, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogDriverFailed(ex, driver.ReaderId);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await driver.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reader {ReaderId}: driver failed; restarting it in 5 s.")]
    private partial void LogDriverFailed(Exception ex, string readerId);
}
