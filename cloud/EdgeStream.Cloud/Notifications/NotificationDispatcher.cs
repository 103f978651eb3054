using EdgeStream.Contracts;
using EdgeStream.Tracking;
using EdgeStream.Tracking.Storage;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace EdgeStream.Cloud.Notifications;

/// <summary>
/// Sends every alert step to every channel, once and in order. The steps are the store's notifications
/// outbox (written with the step, in its transaction), so nothing is lost between the alert and the
/// sending: a crash, a restart or a receiver that is down only delays it. Each channel has a delivery
/// cursor and a lease in the database, so that with several processes one sends per channel.
/// </summary>
/// <remarks>
/// <para>A notification is retried through a Polly pipeline: exponential back-off with jitter up to
/// <see cref="NotificationSettings.MaxRetryDelay"/> between attempts, a circuit breaker that stops calling a
/// receiver that keeps failing (and probes it again after a while), and a timeout per attempt. The
/// channel waits on its oldest notification while retrying, so later ones, of every asset, keep their
/// order. A receiver down for an hour therefore gets every notification once it is back, in order, each
/// with its idempotency key. A notification is dead-lettered when the receiver refuses it for good (a 4xx
/// answer) or when it is still undelivered <see cref="NotificationSettings.DeadLetterAfter"/> after it was
/// written; the cursor then moves past it.</para>
/// </remarks>
public sealed partial class NotificationDispatcher : BackgroundService
{
    private static readonly ResiliencePropertyKey<Notification> Current = new("notification");
    private static readonly ResiliencePropertyKey<int[]> Attempts = new("attempts");

    private readonly INotificationStore _store;
    private readonly IReadOnlyList<INotificationChannel> _channels;
    private readonly NotificationSettings _settings;
    private readonly CommitSignal? _committed;
    private readonly TimeProvider _time;
    private readonly ILogger<NotificationDispatcher> _log;
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private long _delivered;
    private long _deadLettered;

    /// <summary>Creates the dispatcher over the channels.</summary>
    public NotificationDispatcher(INotificationStore store, IReadOnlyList<INotificationChannel> channels, NotificationSettings settings, TimeProvider time, ILogger<NotificationDispatcher> log, CommitSignal? committed = null)
    {
        _store = store;
        _channels = channels;
        _settings = settings;
        _time = time;
        _log = log;
        _committed = committed;
    }

    /// <summary>How long a channel's lease lasts; renewed at every batch and every retry (which are at most <see cref="NotificationSettings.MaxRetryDelay"/> apart).</summary>
    public TimeSpan Lease => TimeSpan.FromSeconds(30) + (_settings.MaxRetryDelay * 2);

    /// <summary>Notifications delivered by this process.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Notifications this process gave up on (dead letters).</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    /// <summary>The pipeline one notification's attempts go through (public so that its timing can be tested on a fake clock).</summary>
    public ResiliencePipeline BuildPipeline(Func<Notification, ValueTask>? onRetry = null) => new ResiliencePipelineBuilder { TimeProvider = _time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(Transient(args.Outcome.Exception) && !TooOld(args.Context.Properties.GetValue(Current, null!))),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = _settings.MaxRetryDelay < TimeSpan.FromSeconds(1) ? _settings.MaxRetryDelay : TimeSpan.FromSeconds(1),
            MaxDelay = _settings.MaxRetryDelay,
            OnRetry = async args =>
            {
                args.Context.Properties.GetValue(Attempts, null!)[0]++;
                var n = args.Context.Properties.GetValue(Current, null!);
                LogRetry(_log, n.Key, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message);
                if (onRetry is not null)
                {
                    await onRetry(n);
                }
            },
        })
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(Transient(args.Outcome.Exception)),
            FailureRatio = 0.5,
            MinimumThroughput = 4,
            SamplingDuration = TimeSpan.FromSeconds(30),
            BreakDuration = TimeSpan.FromTicks(Math.Clamp(_settings.MaxRetryDelay.Ticks, TimeSpan.FromSeconds(0.5).Ticks, TimeSpan.FromSeconds(15).Ticks)),
        })
        .AddTimeout(_settings.AttemptTimeout)
        .Build();

    /// <summary>Sends <paramref name="n"/> on <paramref name="channel"/> through <paramref name="pipeline"/>: null when delivered, else why it was given up, with the number of attempts.</summary>
    public async Task<(string? Error, int Attempts)> DeliverAsync(INotificationChannel channel, ResiliencePipeline pipeline, Notification n, CancellationToken ct)
    {
        var body = NotificationPayload.Serialize(n);
        var context = ResilienceContextPool.Shared.Get(ct);
        var attempts = new int[] { 1 }; // and one more at each retry, whether the breaker lets it through or not
        context.Properties.Set(Current, n);
        context.Properties.Set(Attempts, attempts);
        try
        {
            await pipeline.ExecuteAsync(
                async (c, state) => await state.Channel.SendAsync(state.N, state.Body, c.CancellationToken),
                context,
                (Channel: channel, N: n, Body: body));
            return (null, attempts[0]);
        }
        catch (Exception ex) when (ex is DeliveryFailedException or BrokenCircuitException or TimeoutRejectedException)
        {
            return (ex.Message, attempts[0]);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_channels.Count == 0)
        {
            return;
        }

        LogStarted(_log, string.Join(", ", _channels.Select(c => c.Name)));
        await Task.WhenAll(_channels.Select(c => RunAsync(c, stoppingToken)));
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var c in _channels)
        {
            await c.DisposeAsync();
        }
    }

    private static bool Transient(Exception? ex) =>
        ex is DeliveryFailedException { Permanent: false } or BrokenCircuitException or TimeoutRejectedException;

    private bool TooOld(Notification n) => _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000 - n.CreatedUs > (long)_settings.DeadLetterAfter.TotalMicroseconds;

    private async Task RunAsync(INotificationChannel channel, CancellationToken ct)
    {
        var pipeline = BuildPipeline(async _ => await RenewAsync(channel, ct));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var next = _committed?.Next ?? Task.Delay(Timeout.Infinite, ct);
                if (await RenewAsync(channel, ct) is not { } cursor)
                {
                    // Another process holds the channel; look again before its lease can run out.
                    await Task.Delay(TimeSpan.FromSeconds(5), _time, ct);
                    continue;
                }

                var batch = await _store.NotificationsAfterAsync(cursor, 100, ct);
                if (batch.Count == 0)
                {
                    await CommitSignal.WaitAsync(next, TimeSpan.FromMilliseconds(200), ct);
                    continue;
                }

                foreach (var n in batch)
                {
                    var (error, attempts) = await DeliverAsync(channel, pipeline, n, ct);
                    var kept = error is null
                        ? await _store.MarkDeliveredAsync(channel.Name, _owner, n.Seq, ct)
                        : await _store.DeadLetterAsync(channel.Name, _owner, n.Seq, attempts, error, EventTimes.NowUs(), ct);
                    if (error is null)
                    {
                        Interlocked.Increment(ref _delivered);
                    }
                    else
                    {
                        Interlocked.Increment(ref _deadLettered);
                        LogDeadLettered(_log, n.Key, channel.Name, attempts, error);
                    }

                    if (!kept)
                    {
                        break; // the lease moved to another process: start over from the stored cursor
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
            {
                LogStoreFailed(_log, channel.Name, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async ValueTask<long?> RenewAsync(INotificationChannel channel, CancellationToken ct)
    {
        var now = EventTimes.NowUs();
        return await _store.LeaseChannelAsync(channel.Name, _owner, now, now + (long)Lease.TotalMicroseconds, ct);
    }

    [LoggerMessage(EventId = 8401, Level = LogLevel.Information, Message = "Notifications go to {Channels}")]
    private static partial void LogStarted(ILogger logger, string channels);

    [LoggerMessage(EventId = 8402, Level = LogLevel.Warning, Message = "Notification {Key}: attempt {Attempt} in {Delay:0.#} s, after: {Error}")]
    private static partial void LogRetry(ILogger logger, string key, int attempt, double delay, string? error);

    [LoggerMessage(EventId = 8403, Level = LogLevel.Error, Message = "Notification {Key} to {Channel} given up after {Attempts} attempts, kept as a dead letter: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string key, string channel, int attempts, string error);

    [LoggerMessage(EventId = 8404, Level = LogLevel.Warning, Message = "Notifications to {Channel}: the database failed; trying again in 1 s")]
    private static partial void LogStoreFailed(ILogger logger, string channel, Exception exception);
}
