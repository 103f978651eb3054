using EdgeStream.Contracts;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

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

