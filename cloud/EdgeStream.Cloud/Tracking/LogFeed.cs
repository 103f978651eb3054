using EdgeStream.EventLog;
using EdgeStream.Tracking.Zones;
using Polly;
using Polly.Retry;

namespace EdgeStream.Cloud.Tracking;

/// <summary>
/// Appends what one stage of the cloud derives to a log that another stage reads (placements to the zone
/// log, peers' entering to the tracking log): records are added from the engine's threads and appended
/// in batches by a background loop, retried with back-off while the log fails. When
/// <see cref="MaxPending"/> records wait, adding blocks, which pauses the stage that adds: its own input
/// log is then the buffer, and nothing is dropped.
/// </summary>
public sealed partial class LogFeed : IRecordFeed, IAsyncDisposable
{
    /// <summary>Records that may wait for the log before adding blocks.</summary>
    public const int MaxPending = 100_000;

    private readonly IEventLog _log;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(long Mark, TaskCompletionSource Done)> _waiters = [];
    private readonly Task _loop;
    private List<LogMessage> _pending = [];
    private long _added;
    private long _appended;

    /// <summary>Starts the appending loop over <paramref name="log"/>.</summary>
    public LogFeed(IEventLog log, ILogger logger)
    {
        _log = log;
        _logger = logger;
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<EventLogException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(50),
            MaxDelay = TimeSpan.FromSeconds(5),
            OnRetry = args =>
            {
                LogAppendFailed(_logger, _log.Name, args.AttemptNumber + 1, args.Outcome.Exception?.Message);
                return ValueTask.CompletedTask;
            },
        }).Build();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Records appended since start.</summary>
    public long Appended => Interlocked.Read(ref _appended);

    /// <inheritdoc />
    public void Add(byte[] key, byte[] value, long timeUs)
    {
        lock (_lock)
        {
            while (_added - Interlocked.Read(ref _appended) >= MaxPending && !_stop.IsCancellationRequested)
            {
                _lock.Exit();
                try
                {
                    Thread.Sleep(5);
                }
                finally
                {
                    _lock.Enter();
                }
            }

            _pending.Add(new LogMessage(key, value, timeUs));
            _added++;
        }

        _wake.Release();
    }

    /// <inheritdoc />
    public Task FlushAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_lock)
        {
            if (Interlocked.Read(ref _appended) >= _added)
            {
                return Task.CompletedTask;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((_added, done));
        }

        _wake.Release();
        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Appends what is pending (for up to 10 s) and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        try
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await FlushAsync(bounded.Token);
        }
        catch (OperationCanceledException)
        {
            LogUnappended(_logger, _log.Name);
        }

        await _stop.CancelAsync();
        _wake.Release();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            List<LogMessage> batch;
            long mark;
            lock (_lock)
            {
                if (_pending.Count == 0)
                {
                    continue;
                }

                (batch, _pending, mark) = (_pending, [], _added);
            }

            try
            {
                await _retry.ExecuteAsync(async token => await _log.AppendAsync(batch, token), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_lock)
            {
                Interlocked.Exchange(ref _appended, mark);
                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (_waiters[i].Mark <= mark)
                    {
                        _waiters[i].Done.TrySetResult();
                        _waiters.RemoveAt(i);
                    }
                }
            }
        }
    }

    [LoggerMessage(EventId = 8502, Level = LogLevel.Warning, Message = "Appending to the {Log} log failed (attempt {Attempt}): {Reason}; retrying, and the stage that feeds it pauses when the backlog is full")]
    private static partial void LogAppendFailed(ILogger logger, string log, int attempt, string? reason);

    [LoggerMessage(EventId = 8503, Level = LogLevel.Warning, Message = "Stopping with records not yet appended to the {Log} log; they are made again from the last checkpoint")]
    private static partial void LogUnappended(ILogger logger, string log);
}
