using System.Diagnostics;
using EdgeStream.Engine.State;
using EdgeStream.Engine.Time;

namespace EdgeStream.Engine;

/// <summary>A copy of a task's state taken at a checkpoint barrier; its arrays are reused from one checkpoint to the next.</summary>
public sealed class TaskSnapshot<TEvent, TKey, TState>
    where TEvent : struct
{
    internal StateEntry<TKey, TState>[] Entries = [];
    internal int EntryCount;
    internal TimerEntry[] EventTimers = [];
    internal int EventTimerCount;
    internal TimerEntry[] ProcessingTimers = [];
    internal int ProcessingTimerCount;
    internal Buffered<TEvent>[] Reorder = [];
    internal int ReorderCount;
    internal readonly List<(ulong Id, long MaxTime, SourceStatus Status, Buffered<TEvent>[] Held, int HeldCount)> Sources = [];

    /// <summary>The checkpoint's id.</summary>
    public long CheckpointId { get; internal set; }

    /// <summary>The partition.</summary>
    public int Partition { get; internal set; }

    /// <summary>Offset of the first record not reflected in the snapshot: where a restore resumes reading.</summary>
    public long NextOffset { get; internal set; }

    /// <summary>The watermark at the barrier.</summary>
    public long Watermark { get; internal set; }

    /// <summary>How long the copy held up processing in all, in <see cref="Stopwatch"/> ticks.</summary>
    public long PauseTicks { get; internal set; }

    /// <summary>The longest single hold-up (the barrier, or one step of an incremental copy), in <see cref="Stopwatch"/> ticks.</summary>
    public long LongestStepTicks { get; internal set; }

    /// <summary>The longest single hold-up of processing.</summary>
    public TimeSpan LongestStep => Stopwatch.GetElapsedTime(0, LongestStepTicks);

    /// <summary>Whether the copy is complete and the snapshot can be written.</summary>
    public bool IsComplete { get; internal set; }

    /// <summary>How long the copy held up processing.</summary>
    public TimeSpan Pause => Stopwatch.GetElapsedTime(0, PauseTicks);

    internal bool Ended { get; set; }
}
