using System.Diagnostics.Metrics;

namespace EdgeStream.Readers;

/// <summary>
/// Counters every driver updates, per driver (for status and tests) and as
/// <see cref="System.Diagnostics.Metrics"/> instruments tagged by reader (for Prometheus).
/// </summary>
public sealed class ReaderCounters
{
    private static readonly Meter Meter = new("EdgeStream.Readers");
    private static readonly Counter<long> ReadsCounter = Meter.CreateCounter<long>("edgestream.reader.reads", description: "Tag reads delivered by reader drivers.");
    private static readonly Counter<long> RejectedCounter = Meter.CreateCounter<long>("edgestream.reader.frames_rejected", description: "Frames or messages from devices that were invalid and discarded.");
    private static readonly Counter<long> ConnectsCounter = Meter.CreateCounter<long>("edgestream.reader.connects", description: "Successful (configured) connections to readers.");
    private static readonly Counter<long> FailuresCounter = Meter.CreateCounter<long>("edgestream.reader.link_failures", description: "Connections that failed or dropped.");

    private readonly KeyValuePair<string, object?> _tag;
    private long _reads;
    private long _rejected;
    private long _connects;
    private long _failures;
    private long _keepalives;

    /// <summary>Creates counters for one reader.</summary>
    public ReaderCounters(string readerId) => _tag = new KeyValuePair<string, object?>("reader", readerId);

    /// <summary>Reads delivered to the sink.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Invalid frames or messages discarded.</summary>
    public long FramesRejected => Interlocked.Read(ref _rejected);

    /// <summary>Connections that reached the configured state.</summary>
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>Connection attempts that failed and connections that dropped.</summary>
    public long LinkFailures => Interlocked.Read(ref _failures);

    /// <summary>Keepalives acknowledged.</summary>
    public long KeepalivesAcknowledged => Interlocked.Read(ref _keepalives);

    internal void AddReads(int n)
    {
        Interlocked.Add(ref _reads, n);
        ReadsCounter.Add(n, _tag);
    }

    internal void Rejected()
    {
        Interlocked.Increment(ref _rejected);
        RejectedCounter.Add(1, _tag);
    }

    internal void Connected()
    {
        Interlocked.Increment(ref _connects);
        ConnectsCounter.Add(1, _tag);
    }

    internal void Failed()
    {
        Interlocked.Increment(ref _failures);
        FailuresCounter.Add(1, _tag);
    }

    internal void KeepaliveAcknowledged() => Interlocked.Increment(ref _keepalives);
}
