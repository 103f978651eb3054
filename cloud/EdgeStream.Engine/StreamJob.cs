using EdgeStream.Engine.Io;

namespace EdgeStream.Engine;

/// <summary>
/// What a stream job is: how to read an event from a log record (its key, event time, source and a
/// tie-break order), what to do with each event and timer of a key, and how to write keys, state and
/// buffered events into checkpoints. The engine supplies everything else: watermarks, reordering,
/// lateness, keyed state, timers, checkpoints and recovery.
/// </summary>
/// <remarks>
/// Event time is in microseconds since the Unix epoch (UTC), as is processing time. <typeparamref name="TState"/>
/// is a value type copied into snapshots by assignment: any reference it holds must point at an immutable
/// object (replace it, never mutate it), or asynchronous checkpoints would see later changes.
/// </remarks>
/// <typeparam name="TEvent">The decoded event, a struct so that no event is allocated.</typeparam>
/// <typeparam name="TKey">The key state is partitioned by.</typeparam>
/// <typeparam name="TState">Per-key state.</typeparam>
/// <typeparam name="TOutput">What the job emits.</typeparam>
public abstract class StreamJob<TEvent, TKey, TState, TOutput>
    where TEvent : struct
    where TKey : notnull, IEquatable<TKey>
    where TState : struct
{
    /// <summary>
    /// Decodes a log record. Returns false with a reason for a record that is not a valid event; the
    /// engine sends it to the side output as malformed and counts it. Must not throw.
    /// </summary>
    public abstract bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out TEvent evt, out string? error);

    /// <summary>The key of an event.</summary>
    public abstract TKey KeyOf(in TEvent evt);

    /// <summary>A well-mixed hash of a key that is the same in every process (see <see cref="State.StableHash"/>).</summary>
    public abstract ulong HashKey(in TKey key);

    /// <summary>Event time in microseconds since the Unix epoch.</summary>
    public abstract long EventTimeOf(in TEvent evt);

    /// <summary>
    /// The producer whose clock and send order the event follows (a gateway, a device). Watermarks are
    /// tracked per source, so one slow or silent source neither stalls nor loses another's data.
    /// </summary>
    public abstract ulong SourceOf(in TEvent evt);

    /// <summary>
    /// Orders two events with the same event time so that processing order never depends on arrival
    /// order; 0 means they are the same event delivered twice, and the later copy is dropped (counted).
    /// </summary>
    public abstract int CompareSameTime(in TEvent a, in TEvent b);

    /// <summary>Handles one event of a key, in event-time order, with that key's state.</summary>
    public abstract void OnEvent(in TEvent evt, ref TState state, KeyedContext<TKey, TOutput> context);

    /// <summary>Handles a timer of a key; <see cref="KeyedContext{TKey,TOutput}.Timestamp"/> is the timer's time.</summary>
    public virtual void OnTimer(TimerDomain domain, ref TState state, KeyedContext<TKey, TOutput> context)
    {
    }

    /// <summary>Writes a key into a checkpoint.</summary>
    public abstract void WriteKey(SnapshotWriter writer, in TKey key);

    /// <summary>Reads a key written by <see cref="WriteKey"/>.</summary>
    public abstract TKey ReadKey(ref SnapshotReader reader);

    /// <summary>Writes state into a checkpoint.</summary>
    public abstract void WriteState(SnapshotWriter writer, in TState state);

    /// <summary>Reads state written by <see cref="WriteState"/>.</summary>
    public abstract TState ReadState(ref SnapshotReader reader);

    /// <summary>Writes an event that is waiting in a reorder buffer into a checkpoint.</summary>
    public abstract void WriteEvent(SnapshotWriter writer, in TEvent evt);

    /// <summary>Reads an event written by <see cref="WriteEvent"/>.</summary>
    public abstract TEvent ReadEvent(ref SnapshotReader reader);
}

/// <summary>Which clock a timer follows.</summary>
public enum TimerDomain : byte
{
    /// <summary>Fires when the watermark passes the timer's time; deterministic on replay.</summary>
    EventTime = 0,

    /// <summary>Fires when the wall clock passes the timer's time; not deterministic on replay.</summary>
    ProcessingTime = 1,
}

/// <summary>How an event reached keyed processing.</summary>
[Flags]
public enum EventFlags : byte
{
    /// <summary>Released from the reorder buffer in event-time order.</summary>
    None = 0,

    /// <summary>Arrived after the watermark had passed it, within the allowed lateness: processed out of order.</summary>
    Late = 1,

    /// <summary>
    /// From a source that had gone idle and came back with data older than the watermark that advanced
    /// without it: processed in its own source's event-time order, behind the watermark, never dropped.
    /// </summary>
    Behind = 2,
}

/// <summary>
/// What a job's callbacks may do for the key being processed: read the time, register timers, emit
/// outputs, clear state. One instance per task is reused for every callback; do not keep it.
/// </summary>
public abstract class KeyedContext<TKey, TOutput>
{
    /// <summary>The key being processed.</summary>
    public abstract TKey Key { get; }

    /// <summary>The event's time, or the timer's time in <see cref="StreamJob{TEvent,TKey,TState,TOutput}.OnTimer"/>.</summary>
    public abstract long Timestamp { get; }

    /// <summary>How the current event arrived (always <see cref="EventFlags.None"/> for timers).</summary>
    public abstract EventFlags Flags { get; }

    /// <summary>The task's current watermark.</summary>
    public abstract long Watermark { get; }

    /// <summary>The wall clock, in microseconds since the Unix epoch.</summary>
    public abstract long ProcessingTime { get; }

    /// <summary>Asks for <see cref="StreamJob{TEvent,TKey,TState,TOutput}.OnTimer"/> when the watermark reaches <paramref name="time"/>; once per key and time.</summary>
    public abstract void RegisterEventTimer(long time);

    /// <summary>Cancels an event-time timer of this key, if registered.</summary>
    public abstract void DeleteEventTimer(long time);

    /// <summary>Asks for a callback when the wall clock reaches <paramref name="time"/>; once per key and time.</summary>
    public abstract void RegisterProcessingTimer(long time);

    /// <summary>Cancels a processing-time timer of this key, if registered.</summary>
    public abstract void DeleteProcessingTimer(long time);

    /// <summary>Emits an output with a deterministic id (see <see cref="OutputId"/>).</summary>
    public abstract void Emit(in TOutput value);

    /// <summary>
    /// Resets this key's state to its default. The key's output numbering is kept until the entry is
    /// removed, so ids are never reused.
    /// </summary>
    public abstract void ClearState();
}
