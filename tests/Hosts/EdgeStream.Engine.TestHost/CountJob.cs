using System.Buffers.Binary;
using EdgeStream.Engine;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;

namespace EdgeStream.Engine.TestHost;

/// <summary>A test event: a key seen by a source at a time, with a per-source sequence number and a value.</summary>
public readonly record struct CountEvent(ulong Key, ulong Source, long Time, uint Seq, int Value)
{
    /// <summary>Encoded size of the record value.</summary>
    public const int Size = 32;

    public byte[] KeyBytes()
    {
        var k = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(k, Key);
        return k;
    }

    public byte[] ValueBytes()
    {
        var v = new byte[Size];
        Write(v);
        return v;
    }

    public void Write(Span<byte> v)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(v, Key);
        BinaryPrimitives.WriteUInt64LittleEndian(v[8..], Source);
        BinaryPrimitives.WriteInt64LittleEndian(v[16..], Time);
        BinaryPrimitives.WriteUInt32LittleEndian(v[24..], Seq);
        BinaryPrimitives.WriteInt32LittleEndian(v[28..], Value);
    }

    public static CountEvent Read(ReadOnlySpan<byte> v) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(v),
        BinaryPrimitives.ReadUInt64LittleEndian(v[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(v[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(v[24..]),
        BinaryPrimitives.ReadInt32LittleEndian(v[28..]));
}

/// <summary>Per-key state of <see cref="CountJob"/>: the open window's count and sum, and totals.</summary>
public struct CountState
{
    public long WindowCount;
    public long WindowSum;
    public long TotalCount;
    public long LastTime;
}

/// <summary>What <see cref="CountJob"/> emits.</summary>
public enum SummaryKind : byte
{
    /// <summary>A window closed (event-time timer).</summary>
    Window = 1,

    /// <summary>An event arrived late (allowed lateness) or behind: a correction.</summary>
    Correction = 2,

    /// <summary>A processing-time timer fired.</summary>
    Tick = 3,
}

/// <summary>One output of <see cref="CountJob"/>.</summary>
public readonly record struct Summary(SummaryKind Kind, long Time, long Count, long Sum, long Total)
{
    public override string ToString() => $"{Kind} {Time} {Count} {Sum} {Total}";
}

/// <summary>
/// A windowed count per key: each event counts into the tumbling window it falls in; an event-time
/// timer at the window's end emits the window's count and sum. Late and behind events emit a
/// correction at once; an event with value 0 clears the key's state. Small, but it exercises every
/// part of the engine that outputs depend on.
/// </summary>
public sealed class CountJob : StreamJob<CountEvent, ulong, CountState, Summary>
{
    public CountJob(long windowUs = 1_000_000) => WindowUs = windowUs;

    public long WindowUs { get; }

    /// <summary>When set, events with this value register a processing-time timer this far ahead (µs).</summary>
    public long TickAfterUs { get; init; }

    public override bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out CountEvent evt, out string? error)
    {
        if (value.Length != CountEvent.Size || key.Length != 8)
        {
            evt = default;
            error = $"expected an 8-byte key and a {CountEvent.Size}-byte value, got {key.Length} and {value.Length}";
            return false;
        }

        evt = CountEvent.Read(value);
        if (evt.Key != BinaryPrimitives.ReadUInt64LittleEndian(key))
        {
            error = "record key does not match the event's key";
            return false;
        }

        error = null;
        return true;
    }

    public override ulong KeyOf(in CountEvent evt) => evt.Key;

    public override ulong HashKey(in ulong key) => StableHash.Mix(key);

    public override long EventTimeOf(in CountEvent evt) => evt.Time;

    public override ulong SourceOf(in CountEvent evt) => evt.Source;

    public override int CompareSameTime(in CountEvent a, in CountEvent b)
    {
        var c = a.Source.CompareTo(b.Source);
        if (c != 0)
        {
            return c;
        }

        c = a.Seq.CompareTo(b.Seq);
        return c != 0 ? c : a.Key.CompareTo(b.Key);
    }

    public override void OnEvent(in CountEvent evt, ref CountState state, KeyedContext<ulong, Summary> context)
    {
        if (evt.Value == 0)
        {
            // A reset: the key starts over.
            context.ClearState();
            return;
        }

        state.TotalCount++;
        state.LastTime = Math.Max(state.LastTime, evt.Time);
        if (context.Flags != EventFlags.None)
        {
            context.Emit(new Summary(SummaryKind.Correction, evt.Time, 1, evt.Value, state.TotalCount));
            return;
        }

        state.WindowCount++;
        state.WindowSum += evt.Value;
        context.RegisterEventTimer(((evt.Time / WindowUs) + 1) * WindowUs);
        if (TickAfterUs > 0 && evt.Value < 0)
        {
            context.RegisterProcessingTimer(context.ProcessingTime + TickAfterUs);
        }
    }

    public override void OnTimer(TimerDomain domain, ref CountState state, KeyedContext<ulong, Summary> context)
    {
        if (domain == TimerDomain.ProcessingTime)
        {
            context.Emit(new Summary(SummaryKind.Tick, context.Timestamp, state.WindowCount, state.WindowSum, state.TotalCount));
            return;
        }

        context.Emit(new Summary(SummaryKind.Window, context.Timestamp, state.WindowCount, state.WindowSum, state.TotalCount));
        state.WindowCount = 0;
        state.WindowSum = 0;
    }

    public override void WriteKey(SnapshotWriter writer, in ulong key) => writer.WriteUInt64(key);

    public override ulong ReadKey(ref SnapshotReader reader) => reader.ReadUInt64();

    public override void WriteState(SnapshotWriter writer, in CountState state)
    {
        writer.WriteInt64(state.WindowCount);
        writer.WriteInt64(state.WindowSum);
        writer.WriteInt64(state.TotalCount);
        writer.WriteInt64(state.LastTime);
    }

    public override CountState ReadState(ref SnapshotReader reader) => new()
    {
        WindowCount = reader.ReadInt64(),
        WindowSum = reader.ReadInt64(),
        TotalCount = reader.ReadInt64(),
        LastTime = reader.ReadInt64(),
    };

    public override void WriteEvent(SnapshotWriter writer, in CountEvent evt) => evt.Write(writer.Span(CountEvent.Size));

    public override CountEvent ReadEvent(ref SnapshotReader reader) => CountEvent.Read(reader.ReadRaw(CountEvent.Size));
}
