using EdgeStream.Contracts;

namespace EdgeStream.Windowing;

/// <summary>Why <see cref="WindowingProcessor"/> refused a read.</summary>
public enum WindowRejectReason
{
    /// <summary>Empty EPC, missing reader id or a non-positive event time.</summary>
    Invalid = 1,

    /// <summary>A new tag while <see cref="WindowingOptions.MaxTrackedTags"/> tags are tracked: not arbitrated (still forwarded as a read).</summary>
    TagCapacity = 2,
}

/// <summary>
/// Where <see cref="WindowingProcessor"/> delivers what it derives. The edge daemon routes presence events
/// to the outbox's Presence class and reads / observations to its Reads class, each class with its own
/// upload and overflow settings. Calls arrive on the thread that called the processor, synchronously;
/// an implementation should copy and return quickly (e.g. write into a bounded channel or a batch).
/// </summary>
public interface IWindowOutput
{
    /// <summary>An arrive, move or depart.</summary>
    void OnPresence(in PresenceEvent presence);

    /// <summary>A raw read for the Reads class (modes All and Sampled).</summary>
    void OnRead(in TagRead read);

    /// <summary>A deduplicated observation for the Reads class (mode Summaries).</summary>
    void OnObservation(in TagObservation observation);

    /// <summary>A read the processor refused; it is also counted in <see cref="WindowingStats"/>. For logging.</summary>
    void OnRejected(in TagRead read, WindowRejectReason reason);
}
