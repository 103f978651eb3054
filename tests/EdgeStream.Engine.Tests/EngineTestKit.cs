using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>A wall clock the test moves by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>One task of <see cref="CountJob"/> with in-memory sinks, fed directly.</summary>
internal sealed class TaskKit
{
    public TaskKit(EngineOptions? options = null, CountJob? job = null, int partition = 0)
    {
        Options = options ?? new EngineOptions { OutOfOrdernessUs = 50_000, AllowedLatenessUs = 20_000, KeyGroupCount = 32 };
        Job = job ?? new CountJob();
        Task = new StreamTask<CountEvent, ulong, CountState, Summary>(Job, Options, partition, Sink, Side, Clock);
    }

    public EngineOptions Options { get; }

    public CountJob Job { get; }

    public ManualClock Clock { get; } = new();

    public InMemoryOutputSink<ulong, Summary> Sink { get; } = new();

    public InMemorySideOutput Side { get; } = new();

    public StreamTask<CountEvent, ulong, CountState, Summary> Task { get; }

    public long Offset { get; set; }

    public void Feed(IEnumerable<CountEvent> events)
    {
        foreach (var e in events)
        {
            Feed(e);
        }
    }

    public void Feed(CountEvent e) => Task.ProcessRecord(Offset++, e.KeyBytes(), e.ValueBytes());

    /// <summary>The outputs as comparable text, ordered by id.</summary>
    public List<string> Outputs() => [.. Sink.Snapshot().Select(o => $"{o.Key} {o.Id} {o.Value}")];
}
