using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EdgeStream.Engine;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// The watermark, watermark lag and offset lag of every partition are published on the engine's
/// meter (for the Prometheus exporter) and in the runner's status.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class Watermark_and_lag_show_per_partition_in_metrics : IDisposable
{
    private const long T0 = 1_764_000_000_000_000;
    private readonly TempDirectory _dir = new("engine-metrics-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Each_partition_reports_its_watermark_and_lag()
    {
        var log = new InMemoryLog(2);
        for (var i = 0; i < 1_000; i++)
        {
            var e = new CountEvent((ulong)(i % 10), 100, T0 + (i * 1_000), (uint)i, 1);
            log.Append(0, e.KeyBytes(), e.ValueBytes());
        }

        for (var i = 0; i < 500; i++)
        {
            var e = new CountEvent((ulong)(i % 10), 300, T0 + 9_000_000 + (i * 1_000), (uint)i, 1);
            log.Append(1, e.KeyBytes(), e.ValueBytes());
        }

        var options = new EngineOptions { OutOfOrdernessUs = 50_000, PollInterval = TimeSpan.FromMilliseconds(10), KeyGroupCount = 16 };
        await using var runner = new StreamRunner<CountEvent, ulong, CountState, Summary>(
            new CountJob(), options, log, new InMemoryOutputSink<ulong, Summary>(), new InMemorySideOutput(), new FileCheckpointStore(_dir.Path), name: "metrics-test");
        await runner.AssignAsync([0, 1], CancellationToken.None);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (runner.Status().Any(s => s.NextOffset < log.Length(s.Partition)))
        {
            await Task.Delay(5, cts.Token);
        }

        var measured = new ConcurrentDictionary<(string Name, int Partition), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StreamRunner<CountEvent, ulong, CountState, Summary>.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? job = null;
            int? partition = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "job")
                {
                    job = tag.Value as string;
                }
                else if (tag.Key == "partition" && tag.Value is int p)
                {
                    partition = p;
                }
            }

            if (job == "metrics-test" && partition is { } at)
            {
                measured[(instrument.Name, at)] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(T0 + 999_000 - 50_000, measured[("edgestream.engine.watermark", 0)]);
        Assert.Equal(T0 + 9_499_000 - 50_000, measured[("edgestream.engine.watermark", 1)]);
        Assert.Equal(0, measured[("edgestream.engine.offset.lag", 0)]);
        Assert.True(measured[("edgestream.engine.watermark.lag", 0)] > measured[("edgestream.engine.watermark.lag", 1)]);
        Assert.Equal(1_000, measured[("edgestream.engine.events", 0)]);
        Assert.Equal(500, measured[("edgestream.engine.events", 1)]);

        var status = runner.Status();
        Assert.Equal(T0 + 999_000 - 50_000, status[0].Watermark);
        Assert.Equal(T0 + 999_000 - 50_000, runner.Watermark);

        // A checkpoint on demand lands in the store with the partition's position.
        var id = await runner.CheckpointNowAsync(1).WaitAsync(TimeSpan.FromSeconds(60));
        var stored = await new FileCheckpointStore(_dir.Path).LoadLatestAsync(1, CancellationToken.None);
        Assert.Equal(id, stored!.CheckpointId);
        await Assert.ThrowsAsync<InvalidOperationException>(() => runner.CheckpointNowAsync(5));
    }
}
