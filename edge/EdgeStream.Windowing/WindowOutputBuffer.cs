using EdgeStream.Contracts;

namespace EdgeStream.Windowing;

/// <summary>
/// An <see cref="IWindowOutput"/> that keeps what the processor emitted, separated by uplink class, until
/// the pipeline stage drains it into the outbox: presence events into the Presence class, reads and
/// observations into the Reads class, each class with its own upload and overflow settings. Drain after
/// every processor call (or every few); the lists reuse their storage, so the steady state does not allocate.
/// Rejections are counted here for the stage to log.
/// </summary>
public sealed class WindowOutputBuffer : IWindowOutput
{
    private readonly List<PresenceEvent> _presence = [];
    private readonly List<TagRead> _reads = [];
    private long _rejectedInvalid;
    private long _rejectedCapacity;

    /// <summary>Presence events waiting for the Presence class.</summary>
    public IReadOnlyList<PresenceEvent> Presence => _presence;

    /// <summary>
    /// Reads waiting for the Reads class: raw reads (modes All and Sampled) and observations in their v1
    /// wire form (<see cref="TagObservation.ToTagRead"/>), in the order they were emitted.
    /// </summary>
    public IReadOnlyList<TagRead> Reads => _reads;

    /// <summary>Reads refused as invalid since creation.</summary>
    public long RejectedInvalid => _rejectedInvalid;

    /// <summary>Reads refused for windowing at tag capacity since creation (they were still forwarded).</summary>
    public long RejectedOverCapacity => _rejectedCapacity;

    /// <summary>Empties both classes (call after handing their contents on).</summary>
    public void Clear()
    {
        _presence.Clear();
        _reads.Clear();
    }

    /// <inheritdoc/>
    public void OnPresence(in PresenceEvent presence) => _presence.Add(presence);

    /// <inheritdoc/>
    public void OnRead(in TagRead read) => _reads.Add(read);

    /// <inheritdoc/>
    public void OnObservation(in TagObservation observation) => _reads.Add(observation.ToTagRead());

    /// <inheritdoc/>
    public void OnRejected(in TagRead read, WindowRejectReason reason)
    {
        if (reason == WindowRejectReason.Invalid)
        {
            _rejectedInvalid++;
        }
        else
        {
            _rejectedCapacity++;
        }
    }
}
