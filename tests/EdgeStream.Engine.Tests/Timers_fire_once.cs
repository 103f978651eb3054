using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// Event-time timers are deduplicated per key and time, whatever the mix of registrations and deletions
/// of a key (one pending timer is tracked on the key itself; more go through the task's index).
/// </summary>
[Trait("Capability", "Engine")]
public sealed class Timers_fire_once
{
    private const long T0 = 1_000_000_000;

    [Fact]
    public void Registering_deleting_and_re_registering_several_times_of_a_key_fires_each_pending_time_once()
    {
        var (task, sink) = NewTask();
        long offset = 0;
        void Do(ulong key, long at, TimerOp op, long timer) => task.ProcessEvent(new TimerEvent(key, at, op, timer), offset++);

        Do(1, T0 + 1, TimerOp.Register, T0 + 500);
        Do(1, T0 + 2, TimerOp.Register, T0 + 500);       // same time again: no second timer
        Do(1, T0 + 3, TimerOp.Register, T0 + 700);       // a second time: the key's timers are indexed
        Do(1, T0 + 4, TimerOp.Register, T0 + 500);       // the first time again, while not the latest
        Do(1, T0 + 5, TimerOp.Register, T0 + 600);
        Do(1, T0 + 6, TimerOp.Delete, T0 + 700);
        Do(1, T0 + 7, TimerOp.Delete, T0 + 800);         // never registered: nothing happens
        Do(1, T0 + 8, TimerOp.Register, T0 + 700);       // registered again after deletion
        Do(2, T0 + 9, TimerOp.Register, T0 + 550);
        Do(2, T0 + 10, TimerOp.Delete, T0 + 550);        // the key's only timer, deleted
        Do(2, T0 + 11, TimerOp.Delete, T0 + 550);
        Do(3, T0 + 12, TimerOp.Register, T0 + 650);
        Do(3, T0 + 13, TimerOp.Delete, T0 + 999);        // a key with one timer, deleting another time

        task.EndOfInput();
        Assert.Equal(4, task.TimerCount + task.Counters.TimersFired);
        Assert.Equal(
            ["1@" + (T0 + 500), "1@" + (T0 + 600), "3@" + (T0 + 650), "1@" + (T0 + 700)],
            sink.Snapshot().OrderBy(o => o.Timestamp).Select(o => $"{o.Key}@{o.Value}"));
    }

    [Fact]
    public void A_key_whose_timers_all_fired_dedups_on_its_own_again()
    {
        var (task, sink) = NewTask();
        long offset = 0;
        task.ProcessEvent(new TimerEvent(1, T0, TimerOp.Register, T0 + 100), offset++);
        task.ProcessEvent(new TimerEvent(1, T0 + 1, TimerOp.Register, T0 + 200), offset++);

        // Another key moves the watermark past both timers.
        task.ProcessEvent(new TimerEvent(2, T0 + 1_000, TimerOp.None, 0), offset++);
        Assert.Equal(2, task.Counters.TimersFired);
        task.ProcessEvent(new TimerEvent(1, T0 + 1_001, TimerOp.Register, T0 + 5_000), offset++);
        task.ProcessEvent(new TimerEvent(1, T0 + 1_002, TimerOp.Register, T0 + 5_000), offset++);
        task.ProcessEvent(new TimerEvent(1, T0 + 1_003, TimerOp.Register, T0 + 100), offset++);
        task.EndOfInput();
        Assert.Equal(
            ["1@" + (T0 + 100), "1@" + (T0 + 200), "1@" + (T0 + 100), "1@" + (T0 + 5_000)],
            sink.Snapshot().OrderBy(o => o.Id.Sequence).Select(o => $"{o.Key}@{o.Value}"));
    }

    private static (StreamTask<TimerEvent, ulong, long, long> Task, InMemoryOutputSink<ulong, long> Sink) NewTask()
    {
        var sink = new InMemoryOutputSink<ulong, long>();
        var options = new EngineOptions { OutOfOrdernessUs = 0, AllowedLatenessUs = 1_000_000, KeyGroupCount = 16 };
        return (new StreamTask<TimerEvent, ulong, long, long>(new TimerJob(), options, 0, sink, new InMemorySideOutput()), sink);
    }

    private enum TimerOp
    {
        None,
        Register,
        Delete,
    }

    private readonly record struct TimerEvent(ulong Key, long Time, TimerOp Op, long Timer);

    /// <summary>Registers or deletes the event's timer; a timer emits its own time.</summary>
    private sealed class TimerJob : StreamJob<TimerEvent, ulong, long, long>
    {
        public override bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out TimerEvent evt, out string? error)
        {
            evt = default;
            error = "not used";
            return false;
        }

        public override ulong KeyOf(in TimerEvent evt) => evt.Key;

        public override ulong HashKey(in ulong key) => StableHash.Mix(key);

        public override long EventTimeOf(in TimerEvent evt) => evt.Time;

        public override ulong SourceOf(in TimerEvent evt) => 1;

        public override int CompareSameTime(in TimerEvent a, in TimerEvent b) => a.Key.CompareTo(b.Key);

        public override void OnEvent(in TimerEvent evt, ref long state, KeyedContext<ulong, long> context)
        {
            if (evt.Op == TimerOp.Register)
            {
                context.RegisterEventTimer(evt.Timer);
            }
            else if (evt.Op == TimerOp.Delete)
            {
                context.DeleteEventTimer(evt.Timer);
            }
        }

        public override void OnTimer(TimerDomain domain, ref long state, KeyedContext<ulong, long> context) => context.Emit(context.Timestamp);

        public override void WriteKey(SnapshotWriter writer, in ulong key) => writer.WriteUInt64(key);

        public override ulong ReadKey(ref SnapshotReader reader) => reader.ReadUInt64();

        public override void WriteState(SnapshotWriter writer, in long state) => writer.WriteInt64(state);

        public override long ReadState(ref SnapshotReader reader) => reader.ReadInt64();

        public override void WriteEvent(SnapshotWriter writer, in TimerEvent evt) => throw new NotSupportedException();

        public override TimerEvent ReadEvent(ref SnapshotReader reader) => throw new NotSupportedException();
    }
}
