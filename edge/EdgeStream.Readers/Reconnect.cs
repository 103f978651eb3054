using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace EdgeStream.Readers;

/// <summary>
/// The supervision loop every driver shares: run a session; when it fails, report it and retry
/// with jittered exponential backoff (Polly); when a session that had been connected drops, start
/// over from the shortest delay, so a reader that blips once is back within a second.
/// </summary>
internal sealed class SessionState(string readerId, ReaderCounters counters, IReadSink sink)
{
    /// <summary>When the session reached the configured state, or null.</summary>
    public DateTime? ConnectedAt { get; private set; }

    /// <summary>
    /// Records, once per session, that the link reached its working state: the time (which decides
    /// how the reconnect loop backs off), the counter, and a Connected event with <paramref name="message"/>.
    /// Later calls do nothing, so a polling loop may call it after every good round.
    /// </summary>
    public void ReportConnected(string message)
    {
        if (ConnectedAt is not null)
        {
            return;
        }

        ConnectedAt = DateTime.UtcNow;
        counters.Connected();
        sink.OnEvent(new ReaderEvent(readerId, ReaderEventKind.Connected, message, Contracts.EventTimes.NowUs()));
    }
}

internal static class Reconnect
{
    public static async Task RunAsync(
        string readerId,
        ReaderSettings settings,
        IReadSink sink,
        ReaderCounters counters,
        ILogger logger,
        Func<SessionState, CancellationToken, Task> session,
        CancellationToken cancellationToken)
    {
        var pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.ReconnectMinDelay,
                MaxDelay = settings.ReconnectMaxDelay,
                OnRetry = args =>
                {
                    logger.LogInformation("Reader {Reader}: retrying in {Delay} (attempt {Attempt}).", readerId, args.RetryDelay, args.AttemptNumber + 1);
                    return default;
                },
            })
            .Build();

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await pipeline.ExecuteAsync(
                    async ct =>
                    {
                        var state = new SessionState(readerId, counters, sink);
                        try
                        {
                            await session(state, ct);
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                        {
                            counters.Failed();
                            var message = ex is ReaderLinkException or IOException or System.Net.Sockets.SocketException or TimeoutException or UnauthorizedAccessException
                                ? ex.Message
                                : $"{ex.GetType().Name}: {ex.Message}";
                            logger.LogWarning("Reader {Reader}: {Message}", readerId, message);
                            var kind = state.ConnectedAt is null ? ReaderEventKind.Error : ReaderEventKind.Disconnected;
                            sink.OnEvent(new ReaderEvent(readerId, kind, message, Contracts.EventTimes.NowUs()));

                            // A link that stayed up for a while and then dropped starts the backoff over;
                            // one that drops right after configuring keeps backing off, so a reader that
                            // accepts and immediately drops is not hammered.
                            if (state.ConnectedAt is { } since && DateTime.UtcNow - since >= settings.ReconnectMaxDelay)
                            {
                                return;
                            }

                            throw;
                        }
                    },
                    cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
