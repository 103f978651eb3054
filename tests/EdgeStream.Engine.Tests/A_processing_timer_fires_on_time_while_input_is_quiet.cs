using EdgeStream.Engine;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// A processing-time timer falls due while no record arrives: the task loop must wake for it rather
/// than wait out its poll interval (set here to the longest allowed, 10 s, against a 0.3 s timer).
/// </summary>
[Trait("Capability", "Engine")]
public sealed class A_processing_timer_fires_on_time_while_input_is_quiet : IDisposable
{
    private const long T0 = 1_764_000_000_000_000;
    private readonly TempDirectory _dir = new("engine-ptimer-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_timer_fires_long_before_the_poll_interval_ends()
    {
        var log = new InMemoryLog(1);
        var sink = new InMemoryOutputSink<ulong, Summary>();
        var options = new EngineOptions
        {
            OutOfOrdernessUs = 50_000,
            AllowedLatenessUs = 0,
            PollInterval = TimeSpan.FromSeconds(10),
            CheckpointInterval = TimeSpan.FromMinutes(10),
            KeyGroupCount = 16,
        };
        var job = new CountJob { TickAfterUs = 300_000 };
        await using var runner = new StreamRunner<CountEvent, ulong, CountState, Summary>(job, options, log, sink, new InMemorySideOutput(), new FileCheckpointStore(_dir.Path));
        await runner.AssignAsync([0], CancellationToken.None);

        // A negative value asks CountJob for a processing-time tick 0.3 s after the event is processed; the
        // second event moves the watermark past the first, which is released at once. Then the input goes quiet.
        var e = new CountEvent(7, 1, T0, 0, -1);
        var next = new CountEvent(8, 1, T0 + 100_000, 1, 1);
        log.Append(0, e.KeyBytes(), e.ValueBytes());
        log.Append(0, next.KeyBytes(), next.ValueBytes());

        var waited = System.Diagnostics.Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!sink.Snapshot().Any(o => o.Key == 7 && o.Value.Kind == SummaryKind.Tick))
        {
            Assert.False(timeout.IsCancellationRequested, "the processing-time timer did not fire within 30 s of quiet input");
            await Task.Delay(20);
        }

        // Due 0.3 s after the event; waiting out the 10 s poll interval would mean the loop did not wake for it.
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(9), $"the timer fired {waited.Elapsed.TotalSeconds:F1} s after the event, as late as the poll interval");

        var tick = sink.Snapshot().Single(o => o.Value.Kind == SummaryKind.Tick);
        Assert.Equal(1, tick.Value.Count);
        Assert.Equal(-1, tick.Value.Sum);
    }
}
