using System.Runtime.CompilerServices;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;
using EdgeStream.Engine.Time;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Engine;

/// <summary>
/// The work of one log partition: decodes its records, tracks per-source watermarks, reorders events
/// into event-time order, runs the job's keyed callbacks with per-key state and timers, and snapshots
/// all of it for checkpoints. Single-threaded: one loop owns a task; only checkpoint serialisation runs
/// elsewhere, on copies taken by <see cref="BeginCheckpoint"/>.
/// </summary>
public sealed partial class StreamTask<TEvent, TKey, TState, TOutput>
    where TEvent : struct
    where TKey : notnull, IEquatable<TKey>
    where TState : struct
{
    private const int TtlScanPerStep = 64;

    // How many events (or timers) ahead of the one processed the state of a key is prefetched: its index
    // cell first, then its entry. Powers of two.
    private const int IndexPrefetchDistance = 16;
    private const int EntryPrefetchDistance = 8;

    private readonly StreamJob<TEvent, TKey, TState, TOutput> _job;
    private readonly EngineOptions _options;
    private readonly IOutputSink<TKey, TOutput> _sink;
    private readonly ISideOutput _side;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly KeyedStateTable<TKey, TState> _table = new();
    private readonly TimerCalendar _eventTimers = new();

    // (slot, time) of the event-time timers of keys that have had more than one at a time (see StateEntry.EventTimersIndexed).
    private readonly HashSet<(int Slot, long Time)> _timerIndex = [];
    private readonly TimerQueue _processingTimers = new();
    private readonly ReorderBuffer<TEvent> _reorder;
    private readonly SourceClocks<TEvent> _sources;
    private readonly Context _context;
    private readonly CheckpointWriter<TEvent, TKey, TState, TOutput> _checkpoints;
    private readonly ulong[] _hashAhead = new ulong[IndexPrefetchDistance];
    private readonly TKey[] _keyAhead = new TKey[IndexPrefetchDistance];
    private readonly long _idleTimeoutUs;
    private long _nowUs;
    private int _ttlCursor;
    private int _clearedCount;
    private bool _ended;
    private bool _releasePending;

    /// <summary>Creates the task of <paramref name="partition"/>.</summary>
    public StreamTask(
        StreamJob<TEvent, TKey, TState, TOutput> job,
        EngineOptions options,
        int partition,
        IOutputSink<TKey, TOutput> sink,
        ISideOutput sideOutput,
        TimeProvider? clock = null,
        ILogger? logger = null)
    {
        _job = job;
        _options = options.Validate();
        Partition = partition;
        _sink = sink;
        _side = sideOutput;
        _clock = clock ?? TimeProvider.System;
        _log = logger ?? NullLogger.Instance;
        SameTimeComparer<TEvent> compare = job.CompareSameTime;
        _reorder = new ReorderBuffer<TEvent>(compare, ReorderBuffer<TEvent>.WidthFor(options.OutOfOrdernessUs));
        _sources = new SourceClocks<TEvent>(options.OutOfOrdernessUs, compare);
        _context = new Context(this);
        _checkpoints = new CheckpointWriter<TEvent, TKey, TState, TOutput>(job, _options.KeyGroupCount, _table, _eventTimers, _processingTimers, _reorder, _sources);
        _idleTimeoutUs = (long)(options.IdleTimeout.TotalMilliseconds * 1000);
        _nowUs = WallClockUs();
    }

    /// <summary>The partition this task reads.</summary>
    public int Partition { get; }

    /// <summary>Offset of the next record to read: everything before it is reflected in the task's state.</summary>
    public long NextOffset { get; private set; }

    /// <summary>The task's event-time watermark (<see cref="long.MinValue"/> before any event).</summary>
    public long Watermark => _sources.Watermark;

    /// <summary>Counters of what the task has done.</summary>
    public TaskCounters Counters { get; } = new();

    /// <summary>Live keys in the task's state.</summary>
    public int KeyCount => _table.Count;

    /// <summary>Events waiting in the reorder buffers.</summary>
    public int BufferedEvents
    {
        get
        {
            var n = _reorder.Count;
            foreach (var s in _sources.All)
            {
                n += s.Held.Count;
            }

            return n;
        }
    }

    /// <summary>Registered event-time and processing-time timers.</summary>
    public int TimerCount => _eventTimers.Count + _processingTimers.Count;

    /// <summary>Each source's clock: id, newest event time, status.</summary>
    public IReadOnlyList<SourceInfo> Sources()
    {
        var list = new List<SourceInfo>(_sources.All.Count);
        foreach (var s in _sources.All)
        {
            list.Add(new SourceInfo(s.Id, s.MaxTime, s.OwnWatermark(_options.OutOfOrdernessUs), s.Status, s.Held.Count));
        }

        return list;
    }

    /// <summary>The state of a key, if it has any (for inspection and tests).</summary>
    public bool TryGetState(in TKey key, out TState state)
    {
        var slot = _table.Find(key, _job.HashKey(key));
        state = slot >= 0 ? _table.At(slot).State : default;
        return slot >= 0;
    }

    /// <summary>Wall-clock time (µs since the Unix epoch) of the earliest pending processing-time timer; <see cref="long.MaxValue"/> when none.</summary>
    public long NextProcessingTimerUs => _processingTimers.TryPeek(out var t) ? t.Time : long.MaxValue;

    /// <summary>Whether a checkpoint's incremental copy of keyed state is still in progress.</summary>
    public bool IsCopyingCheckpoint => _checkpoints.IsCopying;

    /// <summary>
    /// Takes a checkpoint barrier: everything a checkpoint holds, consistent with <see cref="NextOffset"/>.
    /// Timers, buffered events and source clocks are copied at once. Keyed state is copied at once too
    /// unless <paramref name="incrementalChunk"/> is positive and the table is larger: then the barrier
    /// only starts the copy, <see cref="ContinueCheckpointCopy"/> copies that many entries per call
    /// between batches, and an entry the task is about to change before it was copied is copied first
    /// (copy-on-write), so the snapshot is still exactly the state at the barrier. Hand the snapshot,
    /// once <see cref="TaskSnapshot{TEvent,TKey,TState}.IsComplete"/>, to <see cref="WriteCheckpoint"/>
    /// and then back with <see cref="ReleaseSnapshot"/>.
    /// </summary>
    public TaskSnapshot<TEvent, TKey, TState> BeginCheckpoint(long checkpointId, int incrementalChunk = 0) =>
        _checkpoints.Begin(checkpointId, Partition, NextOffset, Watermark, _ended, incrementalChunk);

    /// <summary>
    /// Copies up to <paramref name="maxEntries"/> more entries of an incremental checkpoint copy; returns
    /// true when the copy is complete (or none is in progress).
    /// </summary>
    public bool ContinueCheckpointCopy(int maxEntries) => _checkpoints.Continue(maxEntries);

    /// <summary>
    /// Serialises a snapshot; safe on any thread while the task keeps processing (it reads only the
    /// copy and the job's pure serialisers).
    /// </summary>
    public void WriteCheckpoint(TaskSnapshot<TEvent, TKey, TState> snapshot, SnapshotWriter writer) => _checkpoints.Write(snapshot, writer);

    /// <summary>Returns a snapshot's arrays for reuse by the next checkpoint.</summary>
    public void ReleaseSnapshot(TaskSnapshot<TEvent, TKey, TState> snapshot) => _checkpoints.Release(snapshot);

    /// <summary>Reads the wall clock into the task; call once per batch (per-event clock reads are too dear).</summary>
    public void TickClock() => _nowUs = WallClockUs();

    /// <summary>Processes one log record: decode, then <see cref="ProcessEvent"/>, or side-output it as malformed.</summary>
    public void ProcessRecord(long offset, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if ((AdmitRecord(offset, key, value) & Admission.WatermarkMayMove) != 0)
        {
            Advance();
        }
    }

    /// <summary>
    /// Processes a batch of log records (what a reader returned): each is decoded and admitted as by
    /// <see cref="ProcessRecord"/>, but events and timers the watermark passes are released once at the
    /// end of the batch rather than after every record.
    /// </summary>
    /// <remarks>
    /// The outputs are exactly those of record-at-a-time processing, whatever the batch boundaries (a
    /// replay after a crash cuts its batches differently): the watermark is still recomputed after every
    /// event that may move it, so every on-time/late decision sees the same watermark; only the release
    /// is deferred, and it is caught up first whenever an event is processed at once (late within the
    /// allowed lateness, a forced release of a full buffer) or a returning source is behind, so the job
    /// sees every event and timer in the same order.
    /// </remarks>
    public void ProcessRecords(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        for (var i = 0; i < batch.Count; i++)
        {
            AfterAdmitInBatch(AdmitRecord(batch.OffsetAt(i), batch.KeyAt(i), batch.ValueAt(i)));
        }

        EndBatch();
    }

    /// <summary>Processes one decoded event read at <paramref name="offset"/>.</summary>
    public void ProcessEvent(in TEvent evt, long offset)
    {
        if ((Admit(evt, offset, default, default, hasRaw: false) & Admission.WatermarkMayMove) != 0)
        {
            Advance();
        }
    }

    /// <summary>
    /// Processes decoded events read at consecutive offsets from <paramref name="firstOffset"/>, recomputing
    /// the watermark and releasing what it passes once at the end (see <see cref="ProcessRecords"/>).
    /// </summary>
    public void ProcessEvents(ReadOnlySpan<TEvent> events, long firstOffset)
    {
        for (var i = 0; i < events.Length; i++)
        {
            AfterAdmitInBatch(Admit(events[i], firstOffset + i, default, default, hasRaw: false));
        }

        EndBatch();
    }

    /// <summary>
    /// After an event of a batch: recompute the watermark now if it may have moved (the next event's
    /// decision must see it), but defer releasing what it passes, unless the event's source is behind
    /// (its held events are released on its own clock, event by event).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AfterAdmitInBatch(Admission admission)
    {
        if ((admission & Admission.SourceBehind) != 0)
        {
            // What the previous events made due is released first, as per record, then the held events.
            CatchUpRelease();
            Advance();
        }
        else if (admission != Admission.Settled)
        {
            _sources.Recompute();
            _releasePending = true;
        }
    }

    private bool ReleaseCaughtUpStillFull()
    {
        CatchUpRelease();
        return _reorder.Count > _options.MaxBufferedEvents;
    }

    private void EndBatch()
    {
        if (_releasePending)
        {
            _releasePending = false;
            Advance();
        }
    }

    /// <summary>
    /// Before an event is processed out of the buffer's order: release what the watermark already passes,
    /// as record-at-a-time processing would have done after the previous event.
    /// </summary>
    private void CatchUpRelease()
    {
        if (_releasePending)
        {
            _releasePending = false;
            Drain(_sources.Watermark);
        }
    }

    /// <summary>Decodes and admits one record (see <see cref="Admit"/>); a malformed record is settled at once.</summary>
    private Admission AdmitRecord(long offset, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (!_job.TryDecode(key, value, out var evt, out var error))
        {
            NextOffset = offset + 1;
            Counters.Malformed++;
            _side.Write(new SideRecord(SideReason.Malformed, Partition, offset, 0, Watermark, 0, key.ToArray(), value.ToArray(), error ?? "undecodable"));
            Log.Malformed(_log, Partition, offset, error ?? "undecodable");
            return Admission.Settled;
        }

        return Admit(evt, offset, key, value, hasRaw: true);
    }

    /// <summary>
    /// Takes one event in: observes its source's clock, then buffers it, processes it at once (late within
    /// the allowed lateness, or behind on a returning source's own clock) or side-outputs it. Returns
    /// whether the watermark has to be recomputed and whether the event's source is behind; the caller
    /// acts on it (<see cref="Advance"/>).
    /// </summary>
    private Admission Admit(in TEvent evt, long offset, ReadOnlySpan<byte> rawKey, ReadOnlySpan<byte> rawValue, bool hasRaw)
    {
        if (_ended)
        {
            throw new InvalidOperationException($"Partition {Partition} received a record after its end of input.");
        }

        NextOffset = offset + 1;
        Counters.Events++;
        var time = _job.EventTimeOf(evt);
        var source = _sources.Get(_job.SourceOf(evt));
        var wasBehind = source.Status == SourceStatus.Behind;
        var admission = _sources.Observe(source, time, _nowUs) ? Admission.WatermarkMayMove : Admission.Settled;
        if (wasBehind || source.Status == SourceStatus.Behind)
        {
            admission |= Admission.SourceBehind;
        }
        var watermark = _sources.Watermark;

        if (time > watermark)
        {
            if (!_reorder.Insert(time, evt))
            {
                Counters.Duplicates++;
            }
            else if (_reorder.Count > _options.MaxBufferedEvents && ReleaseCaughtUpStillFull())
            {
                // Never drop: release the oldest early (out of watermark order), and count it.
                var item = _reorder.Pop();
                Counters.ForcedReleases++;
                Process(item.Event, item.Time, EventFlags.None);
            }
        }
        else if (source.Status == SourceStatus.Behind)
        {
            // Judged on the source's own clock, never on a watermark that advanced without it.
            var own = source.OwnWatermark(_options.OutOfOrdernessUs);
            if (time > own)
            {
                if (!source.Held.Insert(time, evt))
                {
                    Counters.Duplicates++;
                }
            }
            else if (time > Saturating.Subtract(own, _options.AllowedLatenessUs))
            {
                CatchUpRelease();
                Counters.LateAccepted++;
                Process(evt, time, EventFlags.Behind | EventFlags.Late);
            }
            else
            {
                SideLate(evt, offset, time, source.Id, rawKey, rawValue, hasRaw);
            }
        }
        else if (time > Saturating.Subtract(watermark, _options.AllowedLatenessUs))
        {
            CatchUpRelease();
            Counters.LateAccepted++;
            Process(evt, time, EventFlags.Late);
        }
        else
        {
            SideLate(evt, offset, time, source.Id, rawKey, rawValue, hasRaw);
        }

        return admission;
    }

    /// <summary>
    /// Looks at the wall clock: marks sources idle when the partition is read to its end
    /// (<paramref name="caughtUp"/>) and they have been silent for the idle timeout, fires due
    /// processing-time timers, and advances the watermark.
    /// </summary>
    public void OnClock(bool caughtUp)
    {
        TickClock();
        if (caughtUp && _sources.MarkIdle(_nowUs, _idleTimeoutUs))
        {
            // An idle source holds nothing back, and its held events will not get younger company.
            foreach (var s in _sources.All)
            {
                if (s.Status == SourceStatus.Idle)
                {
                    ReleaseHeld(s, long.MaxValue);
                }
            }
        }

        while (_processingTimers.TryPeek(out var t) && t.Time <= _nowUs)
        {
            FireTimer(_processingTimers.Pop(), TimerDomain.ProcessingTime);
        }

        Advance();
    }

    /// <summary>
    /// Bounded input is over: the watermark moves to the end of time, every buffered event is released
    /// and every event-time timer fires.
    /// </summary>
    public void EndOfInput()
    {
        foreach (var s in _sources.All)
        {
            ReleaseHeld(s, long.MaxValue);
            s.Status = SourceStatus.Active;
        }

        _sources.Watermark = long.MaxValue;
        Drain(long.MaxValue);
        _ended = true;
    }

    private void Advance()
    {
        var watermark = _sources.Recompute();
        foreach (var s in _sources.All)
        {
            if (s.Held.Count > 0)
            {
                ReleaseHeld(s, s.Status == SourceStatus.Behind ? s.OwnWatermark(_options.OutOfOrdernessUs) : long.MaxValue);
            }
        }

        Drain(watermark);
    }

    private void ReleaseHeld(SourceClock<TEvent> source, long upTo)
    {
        while (source.Held.Count > 0 && source.Held.HeadTime <= upTo)
        {
            var item = source.Held.Pop();
            Counters.Behind++;
            Process(item.Event, item.Time, EventFlags.Behind);
        }

        Counters.Duplicates += source.Held.TakeDuplicates();
    }

    /// <summary>Releases events and fires event-time timers up to the watermark, merged in time order (events first on ties).</summary>
    private void Drain(long watermark)
    {
        while (true)
        {
            // Events up to the watermark and up to the earliest timer (events first on ties), straight from
            // the reorder buffer's sorted run. A callback may register an earlier timer: re-read it each time.
            var run = _reorder.PeekRun();
            var released = 0;
            if (run.Length > 0 && run[0].Time <= watermark && run[0].Time <= _eventTimers.NextTime)
            {
                released = ReleaseRun(run, watermark);
                _reorder.Consume(released);
                if (released == run.Length)
                {
                    continue;
                }
            }

            // Then the timers due before the next event (a window end shared by many keys fires them all here).
            var nextEvent = released < run.Length ? run[released].Time : long.MaxValue;
            var fired = false;
            while (_eventTimers.Count > 0 && _eventTimers.NextTime <= watermark && _eventTimers.NextTime < nextEvent)
            {
                if (_eventTimers.TryPeekAhead(EntryPrefetchDistance, out var aheadSlot))
                {
                    _table.PrefetchSlot(aheadSlot);
                }

                FireTimer(_eventTimers.Pop(), TimerDomain.EventTime);
                fired = true;
            }

            if (!fired && released == 0)
            {
                break;
            }
        }

        Counters.Duplicates += _reorder.TakeDuplicates();

        if (_options.StateTtlUs > 0 || _clearedCount > 0)
        {
            ScanForExpired(watermark);
        }
    }

    /// <summary>
    /// Processes the events of a sorted run (at least the first is due) up to the watermark and the next
    /// timer; returns how many it processed.
    /// </summary>
    private int ReleaseRun(ReadOnlySpan<Buffered<TEvent>> run, long watermark)
    {
        const int Mask = IndexPrefetchDistance - 1;
        for (var k = 0; k < Math.Min(IndexPrefetchDistance, run.Length); k++)
        {
            HashAndPrefetchIndex(run[k].Event, k);
            if (k < EntryPrefetchDistance)
            {
                _table.PrefetchEntry(_hashAhead[k]);
            }
        }

        var released = 0;
        while (released < run.Length)
        {
            var time = run[released].Time;
            if (time > watermark || time > _eventTimers.NextTime)
            {
                break;
            }

            // Staged prefetch, so that the table's cache misses overlap the work on the events in between:
            // the index cell of the key 16 events ahead, the entry of the key 8 events ahead (its index cell
            // is in cache by then). Each key's hash is computed once, at the first stage.
            var hash = _hashAhead[released & Mask];
            var key = _keyAhead[released & Mask];
            if (released + EntryPrefetchDistance < run.Length)
            {
                _table.PrefetchEntry(_hashAhead[(released + EntryPrefetchDistance) & Mask]);
                if (released + IndexPrefetchDistance < run.Length)
                {
                    HashAndPrefetchIndex(run[released + IndexPrefetchDistance].Event, released & Mask);
                }
            }

            Process(run[released].Event, key, hash, time, EventFlags.None);
            released++;
        }

        return released;
    }

    /// <summary>Keeps an event's key and hash in place <paramref name="at"/> of the look-ahead, and starts to load its index cell.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void HashAndPrefetchIndex(in TEvent evt, int at)
    {
        var key = _job.KeyOf(evt);
        var hash = _job.HashKey(key);
        _keyAhead[at] = key;
        _hashAhead[at] = hash;
        _table.PrefetchIndex(hash);
    }

    private void Process(in TEvent evt, long time, EventFlags flags)
    {
        var key = _job.KeyOf(evt);
        Process(evt, key, _job.HashKey(key), time, flags);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Process(in TEvent evt, in TKey key, ulong hash, long time, EventFlags flags)
    {
        var slot = _table.FindOrAdd(key, hash, out var added);
        _checkpoints.BeforeEntryChange(slot, added);
        ref var entry = ref _table.At(slot);
        if (added)
        {
            entry.Origin = time;
            entry.LastTouched = time;
        }
        else
        {
            if (entry.PendingTimers == 0 && _options.StateTtlUs > 0 && Saturating.Add(entry.LastTouched, _options.StateTtlUs) < time)
            {
                // Expired: a new life of the key, with a new origin so output ids are never reused.
                Counters.Expired++;
                entry.State = default;
                entry.Origin = time;
                entry.Sequence = 0;
            }

            if (entry.Cleared)
            {
                entry.Cleared = false;
                _clearedCount--;
            }

            entry.LastTouched = Math.Max(entry.LastTouched, time);
        }

        _context.Enter(slot, time, flags);
        _job.OnEvent(evt, ref entry.State, _context);
        Counters.Processed++;
    }

    private void FireTimer(in TimerEntry timer, TimerDomain domain)
    {
        _checkpoints.BeforeEntryChange(timer.Slot, added: false);
        ref var entry = ref _table.At(timer.Slot);
        entry.PendingTimers--;
        if (domain == TimerDomain.EventTime)
        {
            entry.LastTouched = Math.Max(entry.LastTouched, timer.Time);
            EventTimerGone(ref entry, timer.Slot, timer.Time);
        }

        Counters.TimersFired++;
        _context.Enter(timer.Slot, timer.Time, EventFlags.None);
        _job.OnTimer(domain, ref entry.State, _context);
    }

    /// <summary>Registers a processing-time timer of the key in <paramref name="slot"/> unless it has one at that time.</summary>
    private void AddProcessingTimer(int slot, long time)
    {
        ref var e = ref _table.At(slot);
        if (_processingTimers.Add(slot, e.Hash, time))
        {
            e.PendingTimers++;
        }
    }

    /// <summary>Registers an event-time timer of the key in <paramref name="slot"/> unless it has one at that time.</summary>
    private void AddEventTimer(int slot, long time)
    {
        ref var e = ref _table.At(slot);
        if (!e.EventTimersIndexed)
        {
            if (e.EventTimerCount == 1)
            {
                if (e.SoleEventTimer == time)
                {
                    return;
                }

                // A second timer at a time: from now on this key's timers are deduplicated by the index.
                _timerIndex.Add((slot, e.SoleEventTimer));
                _timerIndex.Add((slot, time));
                e.EventTimersIndexed = true;
            }
            else
            {
                e.SoleEventTimer = time;
            }
        }
        else if (!_timerIndex.Add((slot, time)))
        {
            return;
        }

        _eventTimers.Add(slot, e.Hash, time);
        e.EventTimerCount++;
        e.PendingTimers++;
    }

    /// <summary>Cancels an event-time timer of the key in <paramref name="slot"/>, if registered.</summary>
    private void DeleteEventTimer(int slot, long time)
    {
        ref var e = ref _table.At(slot);
        var pending = e.EventTimersIndexed ? _timerIndex.Contains((slot, time)) : e.EventTimerCount == 1 && e.SoleEventTimer == time;
        if (pending && _eventTimers.Remove(slot, time))
        {
            e.PendingTimers--;
            EventTimerGone(ref e, slot, time);
        }
    }

    /// <summary>Bookkeeping once an event-time timer of the key has fired or been deleted.</summary>
    private void EventTimerGone(ref StateEntry<TKey, TState> e, int slot, long time)
    {
        e.EventTimerCount--;
        if (e.EventTimersIndexed)
        {
            _timerIndex.Remove((slot, time));
            e.EventTimersIndexed = e.EventTimerCount > 0;
        }
    }

    /// <summary>
    /// Frees a few entries per step whose state expired (TTL) or was cleared, once no event that is not
    /// late could touch them again (last touched before watermark − allowed lateness) and no timer is pending.
    /// </summary>
    private void ScanForExpired(long watermark)
    {
        var horizon = Saturating.Subtract(watermark, _options.AllowedLatenessUs);
        var ttl = _options.StateTtlUs;
        var n = Math.Min(TtlScanPerStep, _table.HighWater);
        for (var i = 0; i < n; i++)
        {
            if (_ttlCursor >= _table.HighWater)
            {
                _ttlCursor = 0;
            }

            var slot = _ttlCursor++;
            ref var e = ref _table.At(slot);
            if (!KeyedStateTable<TKey, TState>.IsLive(e) || e.PendingTimers > 0 || e.LastTouched >= horizon)
            {
                continue;
            }

            var expired = ttl > 0 && Saturating.Add(e.LastTouched, ttl) < horizon;
            if (expired || e.Cleared)
            {
                if (e.Cleared)
                {
                    _clearedCount--;
                }

                if (expired)
                {
                    Counters.Expired++;
                }

                _checkpoints.BeforeEntryChange(slot, added: false);
                _table.Remove(slot);
            }
        }
    }

    private void SideLate(in TEvent evt, long offset, long time, ulong source, ReadOnlySpan<byte> rawKey, ReadOnlySpan<byte> rawValue, bool hasRaw)
    {
        Counters.Late++;
        byte[] key;
        byte[] value;
        if (hasRaw)
        {
            key = rawKey.ToArray();
            value = rawValue.ToArray();
        }
        else
        {
            using var w = new SnapshotWriter(256);
            _job.WriteEvent(w, evt);
            key = [];
            value = w.WrittenSpan.ToArray();
        }

        _side.Write(new SideRecord(SideReason.Late, Partition, offset, time, Watermark, source, key, value,
            $"event time {time} is more than the allowed lateness {_options.AllowedLatenessUs} µs behind the watermark"));
        Log.LateEvent(_log, Partition, offset, time, Watermark);
    }

    private long WallClockUs() => _clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    /// <summary>The callbacks' view of the task, re-pointed at the current key before each callback.</summary>
    private sealed class Context : KeyedContext<TKey, TOutput>
    {
        private readonly StreamTask<TEvent, TKey, TState, TOutput> _task;
        private int _slot;
        private long _timestamp;
        private EventFlags _flags;

        public Context(StreamTask<TEvent, TKey, TState, TOutput> task) => _task = task;

        public override TKey Key => _task._table.At(_slot).Key;

        public override long Timestamp => _timestamp;

        public override EventFlags Flags => _flags;

        public override long Watermark => _task.Watermark;

        public override long ProcessingTime => _task._nowUs;

        public void Enter(int slot, long timestamp, EventFlags flags)
        {
            _slot = slot;
            _timestamp = timestamp;
            _flags = flags;
        }

        public override void RegisterEventTimer(long time) => _task.AddEventTimer(_slot, time);

        public override void DeleteEventTimer(long time) => _task.DeleteEventTimer(_slot, time);

        public override void RegisterProcessingTimer(long time) => _task.AddProcessingTimer(_slot, time);

        public override void DeleteProcessingTimer(long time)
        {
            if (_task._processingTimers.Remove(_slot, time))
            {
                _task._table.At(_slot).PendingTimers--;
            }
        }

        public override void Emit(in TOutput value)
        {
            ref var e = ref _task._table.At(_slot);
            var id = new OutputId(e.Hash, e.Origin, e.Sequence++);
            _task.Counters.Outputs++;
            _task._sink.Write(new Output<TKey, TOutput>(e.Key, id, _timestamp, _task.Partition, value));
        }

        public override void ClearState()
        {
            ref var e = ref _task._table.At(_slot);
            e.State = default;
            if (!e.Cleared)
            {
                e.Cleared = true;
                _task._clearedCount++;
            }
        }
    }
}

/// <summary>What admitting one event asks of the caller.</summary>
[Flags]
internal enum Admission : byte
{
    /// <summary>Nothing more to do.</summary>
    Settled = 0,

    /// <summary>The watermark may have moved: recompute it.</summary>
    WatermarkMayMove = 1,

    /// <summary>The event's source is (or was until this event) behind the watermark: its held events are released event by event.</summary>
    SourceBehind = 2,
}

/// <summary>One source's clock as seen from outside a task.</summary>
public readonly record struct SourceInfo(ulong Id, long NewestEventTime, long OwnWatermark, SourceStatus Status, int HeldEvents);

/// <summary>What a task has done. Written by the task's thread only; read anywhere (values may be a moment old).</summary>
public sealed class TaskCounters
{
    /// <summary>Decoded events accepted from the log.</summary>
    public long Events { get; internal set; }

    /// <summary>Events handed to the job (after reordering and deduplication).</summary>
    public long Processed { get; internal set; }

    /// <summary>Events dropped because an equal event was already buffered.</summary>
    public long Duplicates { get; internal set; }

    /// <summary>Events processed behind the watermark within the allowed lateness.</summary>
    public long LateAccepted { get; internal set; }

    /// <summary>Events of returning sources processed behind the task watermark on their own clock.</summary>
    public long Behind { get; internal set; }

    /// <summary>Events sent to the side output as late.</summary>
    public long Late { get; internal set; }

    /// <summary>Records sent to the side output as malformed.</summary>
    public long Malformed { get; internal set; }

    /// <summary>Events released early because the reorder buffer was full.</summary>
    public long ForcedReleases { get; internal set; }

    /// <summary>Outputs emitted.</summary>
    public long Outputs { get; internal set; }

    /// <summary>Timers fired (both domains).</summary>
    public long TimersFired { get; internal set; }

    /// <summary>Key states that expired by TTL.</summary>
    public long Expired { get; internal set; }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Debug, Message = "Partition {Partition} offset {Offset}: late event at {EventTime} behind watermark {Watermark} sent to the side output")]
    public static partial void LateEvent(ILogger logger, int partition, long offset, long eventTime, long watermark);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Partition {Partition} offset {Offset}: malformed record sent to the side output: {Reason}")]
    public static partial void Malformed(ILogger logger, int partition, long offset, string reason);
}
