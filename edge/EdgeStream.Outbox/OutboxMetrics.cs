using System.Diagnostics.Metrics;
using EdgeStream.Contracts;

namespace EdgeStream.Outbox;

/// <summary>
/// The edge's store-and-forward instruments, named as they appear on <c>/metrics</c>. One instance
/// per outbox, on a meter the daemon's exporter listens to.
/// </summary>
public sealed class OutboxMetrics
{
    private readonly Counter<long> _readsAccepted;
    private readonly Counter<long> _eventsAccepted;
    private readonly Counter<long> _batchesAcked;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _commitFailures;
    private readonly Counter<long> _bytesPublished;

    /// <summary>Creates the instruments on <paramref name="meter"/>.</summary>
    public OutboxMetrics(Meter meter)
    {
        Meter = meter;
        _readsAccepted = meter.CreateCounter<long>("edgestream_edge_reads_accepted_total", description: "Reads synced to the outbox on disk (accepted).");
        _eventsAccepted = meter.CreateCounter<long>("edgestream_edge_events_accepted_total", description: "Presence events synced to the outbox on disk (accepted).");
        _batchesAcked = meter.CreateCounter<long>("edgestream_edge_batches_acked_total", description: "Batches the broker acknowledged (PUBACK) and the outbox released.");
        _dropped = meter.CreateCounter<long>("edgestream_edge_dropped_total", description: "Records given up, by data class and reason (overflow, age, write_error, corrupt).");
        _reconnects = meter.CreateCounter<long>("edgestream_edge_uplink_reconnects_total", description: "Uplink connections re-established after a loss.");
        _commitFailures = meter.CreateCounter<long>("edgestream_edge_outbox_commit_failures_total", description: "Group commits that failed to reach the disk (disk full, I/O error).");
        _bytesPublished = meter.CreateCounter<long>("edgestream_edge_uplink_bytes_total", description: "Batch payload bytes the broker acknowledged.");
    }

    /// <summary>Publishes zero-valued drop series for both classes, so dashboards see them before the first drop.</summary>
    public void SeedZeroSeries()
    {
        foreach (var c in new[] { DataClass.Reads, DataClass.Presence })
        {
            _dropped.Add(0, new KeyValuePair<string, object?>("class", ClassLabel(c)), new KeyValuePair<string, object?>("reason", "overflow"));
        }
    }

    /// <summary>The meter the instruments live on.</summary>
    public Meter Meter { get; }

    internal void Accepted(DataClass c, long n)
    {
        if (c == DataClass.Reads)
        {
            _readsAccepted.Add(n);
        }
        else
        {
            _eventsAccepted.Add(n);
        }
    }

    internal void Acked(long bytes)
    {
        _batchesAcked.Add(1);
        _bytesPublished.Add(bytes);
    }

    internal void Dropped(DataClass c, string reason, long n) =>
        _dropped.Add(n, new KeyValuePair<string, object?>("class", ClassLabel(c)), new KeyValuePair<string, object?>("reason", reason));

    internal void CommitFailed() => _commitFailures.Add(1);

    /// <summary>Counts a re-established uplink connection.</summary>
    public void Reconnected() => _reconnects.Add(1);

    internal static string ClassLabel(DataClass c) => c == DataClass.Presence ? "presence" : "reads";
}
