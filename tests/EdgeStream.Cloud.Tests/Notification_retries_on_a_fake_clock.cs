using EdgeStream.Cloud.Notifications;
using EdgeStream.Tracking.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The retry pipeline of one notification, on a fake clock so that an hour passes in a moment: a receiver
/// down for an hour gets it when it is back, with back-off that grows and is capped and a circuit breaker
/// that spares the receiver; one that refuses it for good, or is down past the dead-letter limit, gives it up.
/// </summary>
[Trait("Capability", "Rules")]
public sealed class Notification_retries_on_a_fake_clock
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_receiver_down_for_an_hour_gets_the_notification_when_it_is_back_after_capped_back_off()
    {
        var time = new FakeTimeProvider(Start);
        var channel = new FlakyChannel(time, downUntil: Start.AddHours(1));
        var (dispatcher, pipeline) = Dispatcher(time, TimeSpan.FromDays(1));

        var (error, attempts) = await RunAsync(time, dispatcher.DeliverAsync(channel, pipeline, Note(time), default));

        Assert.Null(error);
        var calls = channel.Calls;
        Assert.True(calls[^1] >= Start.AddHours(1), "delivered before the receiver was back");
        Assert.True(calls[^1] - Start.AddHours(1) <= TimeSpan.FromMinutes(1.5), $"delivered {calls[^1] - Start.AddHours(1)} after the receiver was back");
        var gaps = calls.Zip(calls.Skip(1), (a, b) => b - a).ToList();
        Assert.All(gaps, g => Assert.True(g <= TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(20), $"a gap of {g} between attempts")); // the cap, and a breaker's pause
        Assert.True(gaps[0] < gaps[4], "the back-off does not grow");
        Assert.InRange(calls.Count, 40, 200);

        // While the breaker is open, attempts fail at once without calling the receiver.
        Assert.True(attempts > calls.Count, $"{attempts} attempts, {calls.Count} calls: the circuit breaker never opened");
    }

    [Fact]
    public async Task A_notification_still_undelivered_after_the_dead_letter_limit_is_given_up_and_a_refusal_at_once()
    {
        var time = new FakeTimeProvider(Start);
        var (dispatcher, pipeline) = Dispatcher(time, TimeSpan.FromMinutes(10));
        var down = new FlakyChannel(time, downUntil: DateTimeOffset.MaxValue);

        var (error, attempts) = await RunAsync(time, dispatcher.DeliverAsync(down, pipeline, Note(time), default));
        Assert.NotNull(error);
        Assert.True(attempts > 5);
        Assert.InRange(down.Calls[^1] - Start, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(11.5));

        var refusing = new FlakyChannel(time, downUntil: DateTimeOffset.MaxValue, permanent: true);
        (error, attempts) = await RunAsync(time, dispatcher.DeliverAsync(refusing, dispatcher.BuildPipeline(), Note(time), default));
        Assert.Equal(("the receiver answered 400", 1), (error, attempts));
    }

    private static (NotificationDispatcher Dispatcher, Polly.ResiliencePipeline Pipeline) Dispatcher(TimeProvider time, TimeSpan deadLetterAfter)
    {
        var settings = new NotificationSettings { MaxRetryDelay = TimeSpan.FromMinutes(1), DeadLetterAfter = deadLetterAfter };
        var dispatcher = new NotificationDispatcher(new NoStore(), [], settings, time, NullLogger<NotificationDispatcher>.Instance);
        return (dispatcher, dispatcher.BuildPipeline());
    }

    /// <summary>Moves the fake clock on in 5 s steps until <paramref name="delivery"/> ends.</summary>
    private static async Task<(string? Error, int Attempts)> RunAsync(FakeTimeProvider time, Task<(string?, int)> delivery)
    {
        for (var i = 0; i < 100_000 && !delivery.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(1);
        }

        return await delivery.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static Notification Note(TimeProvider time) =>
        new(1, 7, "rule:pump-exit", "pump-1", null, "main-exit", "critical", "Pump at an exit", time.GetUtcNow().ToUnixTimeMilliseconds() * 1000, "open", 1, "opened", time.GetUtcNow().ToUnixTimeMilliseconds() * 1000, "rule", null, time.GetUtcNow().ToUnixTimeMilliseconds() * 1000);

    /// <summary>Fails every call until <c>downUntil</c> (transiently, or for good), recording when each call came.</summary>
    private sealed class FlakyChannel(TimeProvider time, DateTimeOffset downUntil, bool permanent = false) : INotificationChannel
    {
        private readonly List<DateTimeOffset> _calls = [];

        public string Name => "webhook:test";

        public List<DateTimeOffset> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public Task SendAsync(Notification notification, byte[] body, CancellationToken cancellationToken)
        {
            var now = time.GetUtcNow();
            lock (_calls)
            {
                _calls.Add(now);
            }

            return now < downUntil
                ? Task.FromException(new DeliveryFailedException(permanent ? "the receiver answered 400" : "the receiver answered 503", permanent))
                : Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Delivering one notification needs no store; the dispatcher's loop, which does, is not run here.</summary>
    private sealed class NoStore : INotificationStore
    {
        public Task<IReadOnlyList<Notification>> NotificationsAfterAsync(long afterSeq, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<long?> LeaseChannelAsync(string channel, string owner, long nowUs, long untilUs, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> MarkDeliveredAsync(string channel, string owner, long seq, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> DeadLetterAsync(string channel, string owner, long seq, int attempts, string error, long atUs, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<NotificationDeadLetter>> ListNotificationDeadLettersAsync(string? channel, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
