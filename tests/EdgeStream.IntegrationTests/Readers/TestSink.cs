using EdgeStream.Contracts;
using EdgeStream.Readers;

namespace EdgeStream.Tests.Readers;

/// <summary>A sink that keeps everything a driver delivers, and lets a test wait for a condition on it.</summary>
internal sealed class TestSink : IReadSink
{
    private readonly Lock _gate = new();
    private readonly List<TagRead> _reads = [];
    private readonly List<ReaderEvent> _events = [];

    public List<TagRead> Reads
    {
        get
        {
            lock (_gate)
            {
                return [.. _reads];
            }
        }
    }

    public List<ReaderEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public int ReadCount
    {
        get
        {
            lock (_gate)
            {
                return _reads.Count;
            }
        }
    }

    public int Count(ReaderEventKind kind) => Events.Count(e => e.Kind == kind);

    public ValueTask WriteAsync(ReadOnlyMemory<TagRead> reads, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _reads.AddRange(reads.Span);
        }

        return default;
    }

    public void OnEvent(ReaderEvent readerEvent)
    {
        lock (_gate)
        {
            _events.Add(readerEvent);
        }
    }

    public string Describe() => string.Join(" | ", Events.Select(e => $"{e.Kind}: {e.Message}")) + $" | reads={ReadCount}";
}

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="describe"/> after a generous timeout.</summary>
    public static async Task UntilAsync(Func<bool> condition, Func<string> describe, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met within {timeoutSeconds} s: {describe()}");
            }

            await Task.Delay(20);
        }
    }
}
