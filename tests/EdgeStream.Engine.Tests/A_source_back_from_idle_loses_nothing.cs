using EdgeStream.Engine;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.TestHost;
using EdgeStream.Engine.Time;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// A live runner with two sources on one partition. One source goes silent: once the partition is read
/// to its end and the idle timeout passes, it stops holding the watermark back, and the other source's
/// data flows. When the silent source comes back with data far behind the watermark (on time by its own
/// clock), every one of its events is processed; none lands in the late side output.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class A_source_back_from_idle_loses_nothing : IDisposable
{
    private const long T0 = 1_764_000_000_000_000;
    private const ulong Steady = 100;
    private const ulong Returning = 200;
    private readonly TempDirectory _dir = new("engine-idle-");

    public void Dispose() => _dir.Dispose();

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            try
            {
                await Task.Delay(5, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }
        }
    }

    [Fact]
    public async Task Every_event_of_a_source_returning_from_idleness_is_processed()
    {
        var log = new InMemoryLog(1);
        var sink = new InMemoryOutputSink<ulong, Summary>();
        var side = new InMemorySideOutput();
        var options = new EngineOptions
        {
            OutOfOrdernessUs = 50_000,
            AllowedLatenessUs = 20_000,
            IdleTimeout = TimeSpan.FromMilliseconds(300),
            PollInterval = TimeSpan.FromMilliseconds(10),
            KeyGroupCount = 16,
        };
        await using var runner = new StreamRunner<CountEvent, ulong, CountState, Summary>(new CountJob(), options, log, sink, side, new FileCheckpointStore(_dir.Path));
        await runner.AssignAsync([0], CancellationToken.None);
        uint steadySeq = 0;
        uint returningSeq = 0;
        void Send(ulong source, ulong key, long time)
        {
            var seq = source == Steady ? steadySeq++ : returningSeq++;
            var e = new CountEvent(key, source, time, seq, 1);
            log.Append(0, e.KeyBytes(), e.ValueBytes());
        }

        // Both sources send for a while; the returning one stops at T0 + 0.5 s.
        for (var t = 0L; t <= 1_000_000; t += 10_000)
        {
            Send(Steady, 1, T0 + t);
            if (t <= 500_000)
            {
                Send(Returning, 2, T0 + t);
            }
        }

        SourceInfo SourceOf(ulong id) => runner.Status()[0].Sources.Single(s => s.Id == id);
        await WaitForAsync(() => runner.Status()[0].Sources.Count == 2 && SourceOf(Returning).Status == SourceStatus.Idle, "the silent source to go idle");

        // Only the steady source keeps sending; the watermark follows it alone.
        for (var t = 1_010_000L; t <= 5_000_000; t += 10_000)
        {
            Send(Steady, 1, T0 + t);
        }

        await WaitForAsync(() => runner.Status()[0].Watermark >= T0 + 4_900_000, "the watermark to pass the idle source");
        Assert.Equal(SourceStatus.Idle, SourceOf(Returning).Status);

        // The returning source delivers what it buffered while away: 1.5 s of data, all far behind the watermark.
        var returningBefore = returningSeq;
        for (var t = 510_000L; t <= 2_000_000; t += 10_000)
        {
            Send(Returning, 2, T0 + t);
            Send(Returning, 3, T0 + t + 1);
        }

        var sent = returningSeq - returningBefore;
        await WaitForAsync(() => runner.Status()[0].NextOffset == log.Length(0) && runner.Status()[0].BufferedEvents == 0, "the returning data to be processed");
        log.Seal(0);
        await runner.WhenAllEndedAsync().WaitAsync(TimeSpan.FromSeconds(60));

        var status = runner.Status()[0];
        Assert.Equal(0, status.Late);
        Assert.Empty(side.Query(SideReason.Late));
        Assert.True(status.Behind >= sent - 10, $"only {status.Behind} of {sent} returning events were processed behind the watermark");
        Assert.Equal(status.Events, status.Processed);

        // Every event of the returning source counted: corrections carry its running total per key.
        var outputs = sink.Snapshot();
        Assert.Equal(51 + 150, outputs.Where(o => o.Key == 2).Max(o => o.Value.Total));
        Assert.Equal(150, outputs.Where(o => o.Key == 3).Max(o => o.Value.Total));
        Assert.Equal(501, outputs.Where(o => o.Key == 1).Max(o => o.Value.Total));
    }
}
