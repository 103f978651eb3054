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

    /// <summary>Chain link: >= -1 live (next index or -1); &lt;= -2 free, encoding the next free slot as -3 - Next.</summary>
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
/// Per-key state of one task: a hash table over flat arrays (separate chaining by index, as
/// <see cref="Dictionary{TKey,TValue}"/> does) whose slots never move while a key lives, so timers can
/// name a key by slot, and whose entries can be copied with one <see cref="Array.Copy(Array,Array,int)"/>
/// when a checkpoint starts.
/// </summary>
internal sealed class KeyedStateTable<TKey, TState>
    where TKey : notnull, IEquatable<TKey>
{
    private int[] _buckets;
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

        _buckets = new int[size * 2];
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
    /// Hints the processor to load the hash bucket of <paramref name="hash"/> (a hint only: on processors
    /// without a prefetch instruction it does nothing, and it never faults).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void PrefetchBucket(ulong hash)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref _buckets[Bucket(hash)]));
        }
    }

    /// <summary>Hints the processor to load the first entry of a hash's chain (best after <see cref="PrefetchBucket"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void PrefetchEntry(ulong hash)
    {
        if (Sse.IsSupported)
        {
            var i = _buckets[Bucket(hash)] - 1;
            if (i >= 0)
            {
                // An entry usually straddles two cache lines: ask for both.
                ref var e = ref _entries[i];
                Sse.Prefetch0(Unsafe.AsPointer(ref e));
                Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref Unsafe.As<StateEntry<TKey, TState>, byte>(ref e), Unsafe.SizeOf<StateEntry<TKey, TState>>() - 1)));
            }
        }
    }

    /// <summary>
    /// When the first entry of a hash's chain (prefetched by <see cref="PrefetchEntry"/>) is another key's,
    /// hints the processor to load the next one: with the table up to fully loaded, about a third of the
    /// lookups go past the first entry.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchChainNext(ulong hash)
    {
        if (Sse.IsSupported)
        {
            var i = _buckets[Bucket(hash)] - 1;
            if (i >= 0 && _entries[i].Hash != hash)
            {
                PrefetchSlot(_entries[i].Next);
            }
        }
    }

    /// <summary>Hints the processor to load the entry in <paramref name="slot"/> (see <see cref="PrefetchEntry"/>).</summary>
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
    public int Find(in TKey key, ulong hash)
    {
        var entries = _entries;
        var i = _buckets[Bucket(hash)] - 1;
        while (i >= 0)
        {
            ref var e = ref entries[i];
            if (e.Hash == hash && e.Key.Equals(key))
            {
                return i;
            }

            i = e.Next;
        }

        return -1;
    }

    /// <summary>Finds a key's slot, adding a default entry when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindOrAdd(in TKey key, ulong hash, out bool added)
    {
        var entries = _entries;
        var i = _buckets[Bucket(hash)] - 1;
        while (i >= 0)
        {
            ref var e = ref entries[i];
            if (e.Hash == hash && e.Key.Equals(key))
            {
                added = false;
                return i;
            }

            i = e.Next;
        }

        added = true;
        return Add(key, hash);
    }

    private int Add(in TKey key, ulong hash)
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
            }

            slot = _highWater++;
        }

        ref var b = ref _buckets[Bucket(hash)];
        _entries[slot] = new StateEntry<TKey, TState> { Key = key, Hash = hash, Next = b - 1 };
        b = slot + 1;
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
        ref var b = ref _buckets[Bucket(e.Hash)];
        if (b - 1 == slot)
        {
            b = e.Next + 1;
        }
        else
        {
            var i = b - 1;
            while (_entries[i].Next != slot)
            {
                i = _entries[i].Next;
            }

            _entries[i].Next = e.Next;
        }

        e = default;
        e.Next = -3 - _freeList;
        _freeList = slot;
        _freeCount++;
    }

    /// <summary>Removes every key.</summary>
    public void Clear()
    {
        Array.Clear(_buckets);
        Array.Clear(_entries, 0, _highWater);
        _highWater = 0;
        _freeList = -1;
        _freeCount = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Bucket(ulong hash) => (int)((hash ^ (hash >> 29)) & (ulong)(_buckets.Length - 1));

    private void Resize() => ResizeTo(_entries.Length * 2);

    private void ResizeTo(int size)
    {
        Array.Resize(ref _entries, size);
        _buckets = new int[size * 2];
        for (var i = 0; i < _highWater; i++)
        {
            ref var e = ref _entries[i];
            if (e.Next >= -1)
            {
                ref var b = ref _buckets[Bucket(e.Hash)];
                e.Next = b - 1;
                b = i + 1;
            }
        }
    }
}
