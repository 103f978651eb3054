using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.State;
using EdgeStream.Tracking.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Tracking.Zones;

/// <summary>Records on their way into a log: added from the engine's threads, appended in batches in the background.</summary>
public interface IRecordFeed
{
    /// <summary>Accepts a record for the log (may block while the log is down and the backlog is full).</summary>
    void Add(byte[] key, byte[] value, long timeUs);

    /// <summary>Completes once every record added before the call is durable in the log.</summary>
    Task FlushAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The tracking job's sink with the zone stage's feed in it: every output goes to <paramref name="inner"/>,
/// and every placement that moves a tag (not one spliced into history behind newer ones) goes to the zone
/// log as a leave of the zone it was in and an entry into the new one, keyed by zone. A checkpoint waits
/// for both, so the zone log never misses what a checkpoint covers.
/// </summary>
public sealed class ZoneFeed(IOutputSink<Epc, TrackingOutput> inner, IRecordFeed zoneLog, NameTable zones, NameTable gateways) : IOutputSink<Epc, TrackingOutput>
{
    /// <inheritdoc />
    public void Write(in Output<Epc, TrackingOutput> output)
    {
        inner.Write(output);
        var o = output.Value;
        if (o.Kind != TrackingOutputKind.Placement || o.Late)
        {
            return;
        }

        var gateway = gateways.NameOf(o.Gateway) ?? string.Empty;
        if (o.Previous != NameTable.None && o.Previous != o.Zone && zones.NameOf(o.Previous) is { } left)
        {
            Add(left, output.Key, entered: false, o, gateway, o.Index * 2);
        }

        if (o.Zone != NameTable.None && zones.NameOf(o.Zone) is { } entered)
        {
            Add(entered, output.Key, entered: true, o, gateway, (o.Index * 2) + 1);
        }
    }

    /// <inheritdoc />
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await inner.FlushAsync(cancellationToken);
        await zoneLog.FlushAsync(cancellationToken);
    }

    private void Add(string zone, in Epc epc, bool entered, in TrackingOutput o, string gateway, int index) =>
        zoneLog.Add(System.Text.Encoding.UTF8.GetBytes(zone), ZoneJob.Encode(zone, epc, entered, o.TimeUs, gateway, o.Sequence, index), o.TimeUs);
}

/// <summary>
/// Where the zone stage's outputs go: a zone alert's steps to the store through the tracking sink (its
/// asset is <c>zone:{name}</c>, its output id prefixed <c>zone-</c>), and each peer's entering to the
/// tracking log as a manual event of kind <see cref="ManualKind.Peer"/> for the tag it concerns.
/// </summary>
public sealed partial class ZoneSink(TrackingSink store, IRecordFeed trackingLog, ILogger logger) : IOutputSink<string, ZoneOutput>, ISideOutput
{
    /// <summary>The subject prefix of a zone's alerts (their asset id).</summary>
    public const string SubjectPrefix = "zone:";

    private long _peers;
    private long _rejected;

    /// <summary>Peer events sent to tags since start.</summary>
    public long Peers => Interlocked.Read(ref _peers);

    /// <summary>Zone records the stage could not take (malformed, or later than its lateness), each logged.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <inheritdoc />
    public void Write(in Output<string, ZoneOutput> output)
    {
        var o = output.Value;
        var id = "zone-" + output.Id;
        if (o.Step is { } step)
        {
            store.Write(TrackingSink.Record(string.Empty, step, id) with { Subject = SubjectPrefix + output.Key });
            return;
        }

        var manual = new ManualEvent
        {
            Epc = o.Target,
            Kind = ManualKind.Peer,
            EventTimeUs = o.TimeUs,
            Zone = output.Key,
            Action = o.PeerType,
            By = o.Peer.ToString(),
            ClientId = id,
        };
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        var n = LogRecordCodec.EncodeManual(StableHash.Hash(id), manual, buffer, o.TimeUs, ZoneJob.PeerSource);
        trackingLog.Add(o.Target.ToArray(), buffer[..n], o.TimeUs);
        Interlocked.Increment(ref _peers);
    }

    /// <inheritdoc />
    public void Write(SideRecord record)
    {
        Interlocked.Increment(ref _rejected);
        LogRejected(logger, record.Reason, record.Partition, record.Offset, record.Detail);
    }

    /// <inheritdoc />
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await store.FlushAsync(cancellationToken);
        await trackingLog.FlushAsync(cancellationToken);
    }

    /// <inheritdoc />
    ValueTask ISideOutput.FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    [LoggerMessage(EventId = 8501, Level = LogLevel.Error, Message = "The zone stage could not take zone record {Partition}@{Offset} ({Reason}): {Detail}; the zone's counts may be off until its tags move again")]
    private static partial void LogRejected(ILogger logger, SideReason reason, int partition, long offset, string detail);
}
