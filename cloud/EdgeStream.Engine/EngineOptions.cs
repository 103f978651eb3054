namespace EdgeStream.Engine;

/// <summary>
/// How the engine runs a job. Immutable; every default is written here; <see cref="Validate"/> runs
/// when a runner is created and names the offending key. Event-time durations are in microseconds.
/// </summary>
public sealed record EngineOptions
{
    /// <summary>Configuration section the options are bound from.</summary>
    public const string SectionName = "Engine";

    /// <summary>How far behind its own newest event a source's events may arrive and still be reordered (µs).</summary>
    public long OutOfOrdernessUs { get; init; } = 2_000_000;

    /// <summary>How far behind the watermark an event may arrive and still be processed, flagged late (µs).</summary>
    public long AllowedLatenessUs { get; init; } = 10_000_000;

    /// <summary>
    /// How long a source must be silent, with its partition read to the end, before it stops holding
    /// the watermark back. A silent source whose partition still has unread records is never idle.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Event-time TTL of per-key state after its last event or timer (µs); 0 keeps state forever.</summary>
    public long StateTtlUs { get; init; }

    /// <summary>Number of virtual shards (key groups). Fixed for the life of a job: changing it remaps keys.</summary>
    public int KeyGroupCount { get; init; } = 128;

    /// <summary>Time between checkpoint starts.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Keyed-state entries a checkpoint copies per step between batches; tables larger than this are
    /// copied incrementally (copy-on-write keeps the snapshot exact), bounding each pause.
    /// </summary>
    public int CheckpointCopyChunk { get; init; } = 65_536;

    /// <summary>Completed checkpoints kept per partition (older ones are deleted).</summary>
    public int RetainedCheckpoints { get; init; } = 3;

    /// <summary>Most events a task's reorder buffer holds; beyond it the oldest are released early (counted), never dropped.</summary>
    public int MaxBufferedEvents { get; init; } = 1_000_000;

    /// <summary>Most records read from the log in one batch.</summary>
    public int ReadBatchSize { get; init; } = 1024;

    /// <summary>How long a read waits for new records before the task looks at clocks (idleness, timers, checkpoints).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key and its allowed values.</summary>
    public EngineOptions Validate()
    {
        static void Fail(string key, string allowed, object value) =>
            throw new ArgumentException($"{SectionName}:{key} = {value} is invalid; allowed: {allowed}.", key);

        if (OutOfOrdernessUs < 0)
        {
            Fail(nameof(OutOfOrdernessUs), ">= 0 microseconds", OutOfOrdernessUs);
        }

        if (AllowedLatenessUs < 0)
        {
            Fail(nameof(AllowedLatenessUs), ">= 0 microseconds", AllowedLatenessUs);
        }

        if (IdleTimeout <= TimeSpan.Zero)
        {
            Fail(nameof(IdleTimeout), "> 0", IdleTimeout);
        }

        if (StateTtlUs < 0)
        {
            Fail(nameof(StateTtlUs), "0 (no TTL) or > 0 microseconds", StateTtlUs);
        }

        if (KeyGroupCount is < 1 or > State.KeyGroups.MaxCount)
        {
            Fail(nameof(KeyGroupCount), $"1..{State.KeyGroups.MaxCount}", KeyGroupCount);
        }

        if (CheckpointInterval <= TimeSpan.Zero)
        {
            Fail(nameof(CheckpointInterval), "> 0", CheckpointInterval);
        }

        if (CheckpointCopyChunk is < 64 or > 100_000_000)
        {
            Fail(nameof(CheckpointCopyChunk), "64..100000000 entries", CheckpointCopyChunk);
        }

        if (RetainedCheckpoints is < 1 or > 100)
        {
            Fail(nameof(RetainedCheckpoints), "1..100", RetainedCheckpoints);
        }

        if (MaxBufferedEvents is < 16 or > 100_000_000)
        {
            Fail(nameof(MaxBufferedEvents), "16..100000000", MaxBufferedEvents);
        }

        if (ReadBatchSize is < 1 or > 1_000_000)
        {
            Fail(nameof(ReadBatchSize), "1..1000000", ReadBatchSize);
        }

        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromSeconds(10))
        {
            Fail(nameof(PollInterval), "> 0 and <= 10 s", PollInterval);
        }

        return this;
    }
}
