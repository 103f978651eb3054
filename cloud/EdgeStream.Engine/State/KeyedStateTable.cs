using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace EdgeStream.Engine.State;

/// <summary>One key's slot: its state plus what the engine keeps about it (eight-byte fields first, so no padding between).</summary>
internal struct StateEntry<TKey, TState>
{
    public TKey Key;
    public TState State;
    public ulong Hash;

    /// <summary>Event time at which this state was opened; part of every output id.</summary>
    public long Origin;

    /// <summary>Number of outputs emitted from this state; the next output's sequence.</summary>
    public long Sequence;

    /// <summary>Latest event or timer time that touched the key (for TTL).</summary>
    public long LastTouched;

    /// <summary>
    /// Time of the key's one pending event-time timer while <see cref="EventTimerCount"/> is 1 and the key's
    /// timers are not <see cref="EventTimersIndexed"/>: registering it again is then one comparison.
    /// </summary>
    public long SoleEventTimer;

    /// <summary>&gt;= -1: live; &lt;= -2: free, encoding the next free slot as -3 - Next.</summary>
    public int Next;

    /// <summary>Registered timers of this key in both domains; a key with timers is never expired.</summary>
    public int PendingTimers;

    /// <summary>Pending event-time timers of the key.</summary>
    public int EventTimerCount;

    /// <summary>
    /// The key's event-time timers are all in the task's (slot, time) index: set once it has had two at a
    /// time, cleared when it has none. While clear, the key has at most one, at <see cref="SoleEventTimer"/>.
    /// </summary>
    public bool EventTimersIndexed;

    /// <summary>The job cleared the state; the entry is freed once nothing on time can touch it.</summary>
    public bool Cleared;
}

/// <summary>
/// Per-key state of one task: entries in a flat array whose slots never move while a key lives (timers
/// name a key by slot, and a checkpoint copies the entries with one <see cref="Array.Copy(Array,Array,int)"/>),
/// found through an open-addressing index of 8-byte cells, each the slot and 32 bits of the key's hash.
/// </summary>
/// <remarks>
/// A lookup reads the index cell at the hash's home and the cells after it (linear probing, at most half
/// full) and only the entry whose hash bits match: the index line can be prefetched straight from the
/// hash, and the entry from the index, so a lookup ahead of time is two independent loads. (With chained
/// entries about a third of lookups had to read another key's entry to learn the next link.)
/// </remarks>
internal sealed class KeyedStateTable<TKey, TState>
    where TKey : notnull, IEquatable<TKey>
{
    // Index cell: 0 empty, else (upper 32 bits of the hash) << 32 | (slot + 1).
    private ulong[] _index;
    private StateEntry<TKey, TState>[] _entries;
    private int _highWater;
    private int _freeList = -1;
    private int _freeCount;

    public KeyedStateTable(int capacity = 1024)
    {
        var size = 16;
        while (size < capacity)
        {
            size <<= 1;
        }

        _index = new ulong[size * 2];
        _entries = new StateEntry<TKey, TState>[size];
    }

    /// <summary>Live keys.</summary>
    public int Count => _highWater - _freeCount;

    /// <summary>Slots in use or freed (the range a snapshot copies).</summary>
    public int HighWater => _highWater;

    /// <summary>The entry array (for snapshots); slots below <see cref="HighWater"/> with Next &gt;= -1 are live.</summary>
    public StateEntry<TKey, TState>[] Entries => _entries;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref StateEntry<TKey, TState> At(int slot) => ref _entries[slot];

    public static bool IsLive(in StateEntry<TKey, TState> e) => e.Next >= -1;

    /// <summary>
    /// Hints the processor to load the index cell of <paramref name="hash"/> (a hint only: on processors
    /// without a prefetch instruction it does nothing, and it never faults).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void PrefetchIndex(ulong hash)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref _index[Home(hash)]));
        }
    }

    /// <summary>
    /// Hints the processor to load the entry of <paramref name="hash"/>'s key, found from its index cell
    /// (best once <see cref="PrefetchIndex"/> has brought that in). Does nothing for an absent key.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchEntry(ulong hash)
    {
        if (Sse.IsSupported)
        {
            var index = _index;
            var mask = index.Length - 1;
            var tag = hash >> 32;
            for (var i = Home(hash); ; i = (i + 1) & mask)
            {
                var cell = index[i];
                if (cell == 0)
                {
                    return;
                }

                if (cell >> 32 == tag)
                {
                    PrefetchSlot(SlotOf(cell));
                    return;
                }
            }
        }
    }

    /// <summary>Hints the processor to load the entry in <paramref name="slot"/>, both of its cache lines.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void PrefetchSlot(int slot)
    {
        if (Sse.IsSupported && (uint)slot < (uint)_entries.Length)
        {
            ref var e = ref _entries[slot];
            Sse.Prefetch0(Unsafe.AsPointer(ref e));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref Unsafe.As<StateEntry<TKey, TState>, byte>(ref e), Unsafe.SizeOf<StateEntry<TKey, TState>>() - 1)));
        }
    }

    /// <summary>Finds a key's slot, or -1.</summary>
    public int Find(in TKey key, ulong hash) => Probe(key, hash, out _);

    /// <summary>Finds a key's slot, adding a default entry when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindOrAdd(in TKey key, ulong hash, out bool added)
    {
        var slot = Probe(key, hash, out var cell);
        added = slot < 0;
        return added ? Add(key, hash, cell) : slot;
    }

    /// <summary>The key's slot, or -1 with <paramref name="emptyCell"/> the index cell where it would go.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Probe(in TKey key, ulong hash, out int emptyCell)
    {
        var index = _index;
        var entries = _entries;
        var mask = index.Length - 1;
        var tag = hash >> 32;
        for (var i = Home(hash); ; i = (i + 1) & mask)
        {
            var cell = index[i];
            if (cell == 0)
            {
                emptyCell = i;
                return -1;
            }

            if (cell >> 32 == tag)
            {
                var slot = SlotOf(cell);
                ref var e = ref entries[slot];
                if (e.Hash == hash && e.Key.Equals(key))
                {
                    emptyCell = -1;
                    return slot;
                }
            }
        }
    }

    private int Add(in TKey key, ulong hash, int cell)
    {
        int slot;
        if (_freeCount > 0)
        {
            slot = _freeList;
            _freeList = -3 - _entries[slot].Next;
            _freeCount--;
        }
        else
        {
            if (_highWater == _entries.Length)
            {
                Resize();
                Probe(key, hash, out cell);
            }

            slot = _highWater++;
        }

        _entries[slot] = new StateEntry<TKey, TState> { Key = key, Hash = hash, Next = -1 };
        _index[cell] = Cell(hash, slot);
        return slot;
    }

    /// <summary>Grows the table once so that <paramref name="capacity"/> keys fit without further resizing (restores).</summary>
    public void EnsureCapacity(int capacity)
    {
        var size = _entries.Length;
        while (size < capacity)
        {
            size *= 2;
        }

        if (size > _entries.Length)
        {
            ResizeTo(size);
        }
    }

    /// <summary>Removes the key in <paramref name="slot"/>.</summary>
    public void Remove(int slot)
    {
        ref var e = ref _entries[slot];
        var index = _index;
        var mask = index.Length - 1;
        var i = Home(e.Hash);
        while (SlotOf(index[i]) != slot)
        {
            if (index[i] == 0)
            {
                // A live key's cell always comes before the first empty cell of its probe run.
                throw new InvalidOperationException($"State slot {slot} is missing from the key index.");
            }

            i = (i + 1) & mask;
        }

        // Backward-shift deletion: pull later cells of the probe run into the hole when their home allows,
        // so that no lookup meets an empty cell before its key (no tombstones to build up).
        var hole = i;
        for (var j = (i + 1) & mask; index[j] != 0; j = (j + 1) & mask)
        {
            var home = Home(_entries[SlotOf(index[j])].Hash);
            if (((j - home) & mask) >= ((j - hole) & mask))
            {
                index[hole] = index[j];
                hole = j;
            }
        }

        index[hole] = 0;
        e = default;
        e.Next = -3 - _freeList;
        _freeList = slot;
        _freeCount++;
    }

    /// <summary>Removes every key.</summary>
    public void Clear()
    {
        Array.Clear(_index);
        Array.Clear(_entries, 0, _highWater);
        _highWater = 0;
        _freeList = -1;
        _freeCount = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong hash) => (int)((hash ^ (hash >> 29)) & (ulong)(_index.Length - 1));

    private static ulong Cell(ulong hash, int slot) => (hash & 0xFFFF_FFFF_0000_0000UL) | (uint)(slot + 1);

    /// <summary>The slot a non-empty cell names (-1 for an empty one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SlotOf(ulong cell) => (int)(uint)cell - 1;

    private void Resize() => ResizeTo(_entries.Length * 2);

    private void ResizeTo(int size)
    {
        Array.Resize(ref _entries, size);
        var index = new ulong[size * 2];
        var mask = index.Length - 1;
        _index = index;
        for (var slot = 0; slot < _highWater; slot++)
        {
            ref var e = ref _entries[slot];
            if (IsLive(e))
            {
                var i = Home(e.Hash);
                while (index[i] != 0)
                {
                    i = (i + 1) & mask;
                }

                index[i] = Cell(e.Hash, slot);
            }
        }
    }
}
