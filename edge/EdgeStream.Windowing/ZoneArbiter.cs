using System.Runtime.InteropServices;
using EdgeStream.Contracts;

namespace EdgeStream.Windowing;

/// <summary>
/// Zone arbitration: for each tag, RSSI statistics over the zones that hear it within the arbitration
/// window; an arrive or move when one zone has enough evidence (and, for a move, beats the current zone by
/// the margin after the hold-off); a depart when the tag is not heard for its zone's departure timeout.
/// Fed in event-time order by <see cref="WindowingProcessor"/>, which owns reordering, dedupe and raw reads.
/// </summary>
internal sealed class ZoneArbiter
{
    // Each tag keeps RSSI statistics for up to SlotsPerTag zones at once, each over BucketsPerSlot time
    // buckets that together span the arbitration window: a fixed, small amount of memory per tag however
    // often it is read. A tag seen by more zones at once than there are slots forgets the zone it has not
    // heard from for longest (never its current zone).
    private const int SlotsPerTag = 4;
    private const int BucketsPerSlot = 8;

    // RSSI sums are ints; a bucket stops adding RSSI (it keeps counting reads) long before one could overflow.
    private const int MaxRssiReadsPerBucket = 100_000;

    private readonly ZoneRule[] _zones;
    private readonly long _defaultDepartureUs;
    private readonly long _bucketUs;
    private readonly int _maxTags;
    private readonly Dictionary<Epc, int> _tagIndex;
    private TagState[] _tags;
    private int[] _slotZone;
    private long[] _slotLastUs;
    private Bucket[] _buckets;
    private int[] _freeTags;
    private int _freeTagCount;
    private int _present;
    private long _epochBaseUs = long.MinValue;
    private readonly PriorityQueue<TimerRef, TimerKey> _timers;

    public ZoneArbiter(ZoneRule[] zones, int windowMs, long defaultDepartureUs, int maxTags)
    {
        _zones = zones;
        _defaultDepartureUs = defaultDepartureUs;
        _bucketUs = Math.Max(1, windowMs * 1000L / BucketsPerSlot);
        _maxTags = maxTags;
        var initial = Math.Min(_maxTags, 1024);
        _tagIndex = new Dictionary<Epc, int>(initial);
        _tags = [];
        _slotZone = [];
        _slotLastUs = [];
        _buckets = [];
        _freeTags = [];
        _timers = new PriorityQueue<TimerRef, TimerKey>(initial, TimerKeyComparer.Instance);
        GrowTags(initial);
    }

    /// <summary>Reads refused because <see cref="WindowingOptions.MaxTrackedTags"/> tags are tracked.</summary>
    public long ReadsOverCapacity { get; private set; }

    public long Arrivals { get; private set; }

    public long Moves { get; private set; }

    public long Departures { get; private set; }

    public int TrackedTags => _tagIndex.Count;

    public int PresentTags => _present;

    /// <summary>Takes one read, in event-time order, of a tag heard in <paramref name="zone"/>.</summary>
    public void Arbitrate(in TagRead read, int zone, IWindowOutput output)
    {
        var t = read.EventTimeUs;
        ref var indexRef = ref CollectionsMarshal.GetValueRefOrAddDefault(_tagIndex, read.Epc, out var exists);
        if (!exists)
        {
            if (_tagIndex.Count > _maxTags)
            {
                _tagIndex.Remove(read.Epc);
                ReadsOverCapacity++;
                output.OnRejected(in read, WindowRejectReason.TagCapacity);
                return;
            }

            indexRef = AllocateTag(read.Epc, t);
        }

        var i = indexRef;
        ref var tag = ref _tags[i];
        tag.LastSeenUs = t;

        if (_epochBaseUs == long.MinValue)
        {
            _epochBaseUs = t;
        }

        var epoch = (t - _epochBaseUs) / _bucketUs;
        var slot = FindSlot(i, zone, tag.Zone, t);
        ref var bucket = ref _buckets[(((i * SlotsPerTag) + slot) * BucketsPerSlot) + (int)(epoch & (BucketsPerSlot - 1))];
        if (bucket.Epoch != epoch || bucket.Count == 0)
        {
            bucket = new Bucket { Epoch = epoch, Peak = TagRead.NoRssi };
        }

        bucket.Count++;
        var rssi = read.RssiCentiDbm;
        if (rssi != TagRead.NoRssi && bucket.RssiCount < MaxRssiReadsPerBucket)
        {
            bucket.RssiCount++;
            bucket.RssiSum += rssi;
            if (rssi > bucket.Peak)
            {
                bucket.Peak = rssi;
            }
        }

        if (!Decide(i, ref tag, epoch, t, output) && tag.Zone == zone)
        {
            // Evidence of the stay (reported on departure): reads in the current zone since arriving.
            tag.StayReads++;
            if (rssi != TagRead.NoRssi)
            {
                tag.StayRssiReads++;
                tag.StayRssiSum += rssi;
                if (rssi > tag.StayPeak)
                {
                    tag.StayPeak = rssi;
                }
            }
        }
    }

    /// <summary>Decides the tag's zone from its window statistics; true when an arrive or move was emitted.</summary>
    private bool Decide(int i, ref TagState tag, long epoch, long t, IWindowOutput output)
    {
        var best = -1;
        var bestStats = default(WindowStats);
        var current = default(WindowStats);
        for (var s = 0; s < SlotsPerTag; s++)
        {
            var z = _slotZone[(i * SlotsPerTag) + s];
            if (z < 0)
            {
                continue;
            }

            var stats = Window(i, s, epoch);
            if (z == tag.Zone)
            {
                current = stats;
            }

            ref readonly var rule = ref _zones[z];
            var mean = stats.MeanOr(rule.MinMeanRssiCentiDbm);
            if (stats.Count < rule.MinReads || mean < rule.MinMeanRssiCentiDbm)
            {
                continue;
            }

            if (best < 0 || IsBetter(z, stats, mean, best, bestStats))
            {
                best = z;
                bestStats = stats;
            }
        }

        if (best < 0 || best == tag.Zone)
        {
            return false;
        }

        if (tag.Zone < 0)
        {
            Arrivals++;
            _present++;
            EnterZone(i, ref tag, best, bestStats, t);
            output.OnPresence(Presence(tag.Epc, PresenceKind.Arrive, best, null, t, bestStats));
            return true;
        }

        ref readonly var from = ref _zones[tag.Zone];
        if (t - tag.ZoneSinceUs < from.HoldOffUs)
        {
            return false;
        }

        if (current.Count > 0)
        {
            var currentMean = current.MeanOr(from.MinMeanRssiCentiDbm);
            if (bestStats.MeanOr(_zones[best].MinMeanRssiCentiDbm) < currentMean + from.MoveMarginCentiDb)
            {
                return false;
            }
        }

        Moves++;
        var fromZone = tag.Zone;
        EnterZone(i, ref tag, best, bestStats, t);
        output.OnPresence(Presence(tag.Epc, PresenceKind.Move, best, _zones[fromZone].Name, t, bestStats));
        return true;
    }

    private bool IsBetter(int zone, in WindowStats stats, int mean, int best, in WindowStats bestStats)
    {
        var bestMean = bestStats.MeanOr(_zones[best].MinMeanRssiCentiDbm);
        if (mean != bestMean)
        {
            return mean > bestMean;
        }

        return stats.Count != bestStats.Count ? stats.Count > bestStats.Count : zone < best;
    }

    private void EnterZone(int i, ref TagState tag, int zone, in WindowStats evidence, long t)
    {
        tag.Zone = zone;
        tag.ZoneSinceUs = t;
        tag.StayReads = evidence.Count;
        tag.StayRssiReads = evidence.RssiCount;
        tag.StayRssiSum = evidence.RssiSum;
        tag.StayPeak = evidence.Peak;

        // A zone with a shorter departure timeout (an exit) needs an earlier timer than the one registered.
        var deadline = tag.LastSeenUs + _zones[zone].DepartureUs;
        if (deadline < tag.DeadlineUs)
        {
            tag.Generation++;
            tag.DeadlineUs = deadline;
            _timers.Enqueue(new TimerRef(i, tag.Generation), new TimerKey(deadline, tag.Epc));
        }
    }

    private PresenceEvent Presence(Epc epc, PresenceKind kind, int zone, string? fromZone, long t, in WindowStats evidence) => new()
    {
        Epc = epc,
        Kind = kind,
        Zone = _zones[zone].Name,
        FromZone = fromZone,
        EventTimeUs = t,
        ReadCount = evidence.Count,
        PeakRssiCentiDbm = evidence.RssiCount > 0 ? evidence.Peak : TagRead.NoRssi,
        MeanRssiCentiDbm = evidence.RssiCount > 0 ? (short)(evidence.RssiSum / evidence.RssiCount) : TagRead.NoRssi,
    };

    private WindowStats Window(int i, int slot, long epoch)
    {
        var stats = new WindowStats { Peak = TagRead.NoRssi };
        var first = ((i * SlotsPerTag) + slot) * BucketsPerSlot;
        for (var k = 0; k < BucketsPerSlot; k++)
        {
            ref readonly var b = ref _buckets[first + k];
            if (b.Count == 0 || b.Epoch <= epoch - BucketsPerSlot || b.Epoch > epoch)
            {
                continue;
            }

            stats.Count += b.Count;
            stats.RssiCount += b.RssiCount;
            stats.RssiSum += b.RssiSum;
            if (b.Peak > stats.Peak)
            {
                stats.Peak = b.Peak;
            }
        }

        return stats;
    }

    /// <summary>The slot holding <paramref name="zone"/>'s statistics for tag <paramref name="i"/>, claiming one if needed.</summary>
    private int FindSlot(int i, int zone, int currentZone, long t)
    {
        var first = i * SlotsPerTag;
        var victim = -1;
        var victimLast = long.MaxValue;
        for (var s = 0; s < SlotsPerTag; s++)
        {
            var z = _slotZone[first + s];
            if (z == zone)
            {
                _slotLastUs[first + s] = t;
                return s;
            }

            var last = z < 0 ? long.MinValue : _slotLastUs[first + s];
            if ((z < 0 || z != currentZone) && last < victimLast)
            {
                victim = s;
                victimLast = last;
            }
        }

        // There are more slots than one current zone, so a victim always exists.
        _slotZone[first + victim] = zone;
        _slotLastUs[first + victim] = t;
        _buckets.AsSpan((first + victim) * BucketsPerSlot, BucketsPerSlot).Clear();
        return victim;
    }

    private int AllocateTag(Epc epc, long t)
    {
        if (_freeTagCount == 0)
        {
            GrowTags(Math.Min(_maxTags + 1, _tags.Length * 2));
        }

        var i = _freeTags[--_freeTagCount];
        ref var tag = ref _tags[i];
        var generation = tag.Generation + 1;
        tag = new TagState
        {
            Epc = epc,
            Zone = -1,
            LastSeenUs = t,
            Generation = generation,
            DeadlineUs = t + _defaultDepartureUs,
            StayPeak = TagRead.NoRssi,
        };
        _slotZone.AsSpan(i * SlotsPerTag, SlotsPerTag).Fill(-1);
        _buckets.AsSpan(i * SlotsPerTag * BucketsPerSlot, SlotsPerTag * BucketsPerSlot).Clear();
        _timers.Enqueue(new TimerRef(i, generation), new TimerKey(tag.DeadlineUs, epc));
        return i;
    }

    private void FreeTag(int i)
    {
        ref var tag = ref _tags[i];
        _tagIndex.Remove(tag.Epc);
        var generation = tag.Generation + 1;
        tag = default;
        tag.Generation = generation; // any timer still queued for this index is now stale
        _freeTags[_freeTagCount++] = i;
    }

    private void GrowTags(int size)
    {
        var old = _tags.Length;
        if (size <= old)
        {
            return;
        }

        Array.Resize(ref _tags, size);
        Array.Resize(ref _slotZone, size * SlotsPerTag);
        Array.Resize(ref _slotLastUs, size * SlotsPerTag);
        Array.Resize(ref _buckets, size * SlotsPerTag * BucketsPerSlot);
        Array.Resize(ref _freeTags, size);
        for (var i = size - 1; i >= old; i--)
        {
            _freeTags[_freeTagCount++] = i;
        }
    }

    /// <summary>The event time of the next departure timer, or <see cref="long.MaxValue"/>.</summary>
    public long NextTimerDeadline() => _timers.TryPeek(out _, out var key) ? key.DeadlineUs : long.MaxValue;

    /// <summary>Fires the next departure timer: a departure, or a later deadline when the tag was heard since.</summary>
    public void FireNextTimer(IWindowOutput output)
    {
        _timers.TryDequeue(out var timer, out var key);
        ref var tag = ref _tags[timer.Tag];
        if (tag.Generation != timer.Generation)
        {
            return;
        }

        var departure = tag.Zone >= 0 ? _zones[tag.Zone].DepartureUs : _defaultDepartureUs;
        var actual = tag.LastSeenUs + departure;
        if (actual > key.DeadlineUs)
        {
            // Seen since the timer was set: check again at the new deadline.
            tag.DeadlineUs = actual;
            _timers.Enqueue(timer, new TimerKey(actual, tag.Epc));
            return;
        }

        if (tag.Zone >= 0)
        {
            Departures++;
            _present--;
            output.OnPresence(Presence(tag.Epc, PresenceKind.Depart, tag.Zone, null, key.DeadlineUs, StayEvidence(in tag)));
        }

        FreeTag(timer.Tag);
    }

    /// <summary>
    /// Carries the tags present in a zone that <paramref name="next"/> still has (by name) into it, in EPC
    /// order, up to its capacity; the others depart at <paramref name="nowUs"/>.
    /// </summary>
    public void CarryInto(ZoneArbiter next, long nowUs, IWindowOutput output)
    {
        var zoneByName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var z = 0; z < next._zones.Length; z++)
        {
            zoneByName.Add(next._zones[z].Name, z);
        }

        // Carry tags in a stable order (EPC), so which tags fit under a smaller capacity is deterministic.
        var present = new List<int>(_present);
        foreach (var i in _tagIndex.Values)
        {
            if (_tags[i].Zone >= 0)
            {
                present.Add(i);
            }
        }

        present.Sort((a, b) => _tags[a].Epc.CompareTo(_tags[b].Epc));
        foreach (var i in present)
        {
            ref var tag = ref _tags[i];
            if (zoneByName.TryGetValue(_zones[tag.Zone].Name, out var zone) && next._tagIndex.Count < next._maxTags)
            {
                next.Adopt(in tag, zone, nowUs);
                continue;
            }

            Departures++;
            _present--;
            output.OnPresence(Presence(tag.Epc, PresenceKind.Depart, tag.Zone, null, Math.Max(nowUs, tag.LastSeenUs), StayEvidence(in tag)));
        }
    }

    private void Adopt(in TagState carried, int zone, long nowUs)
    {
        var i = AllocateTag(carried.Epc, carried.LastSeenUs);
        _tagIndex.Add(carried.Epc, i);
        ref var tag = ref _tags[i];
        tag.Zone = zone;
        tag.ZoneSinceUs = nowUs;
        tag.StayReads = carried.StayReads;
        tag.StayRssiReads = carried.StayRssiReads;
        tag.StayRssiSum = carried.StayRssiSum;
        tag.StayPeak = carried.StayPeak;
        _present++;

        var deadline = tag.LastSeenUs + _zones[zone].DepartureUs;
        if (deadline < tag.DeadlineUs)
        {
            tag.Generation++;
            tag.DeadlineUs = deadline;
            _timers.Enqueue(new TimerRef(i, tag.Generation), new TimerKey(deadline, tag.Epc));
        }
    }

    private static WindowStats StayEvidence(in TagState tag) => new()
    {
        Count = tag.StayReads,
        RssiCount = tag.StayRssiReads,
        RssiSum = tag.StayRssiSum,
        Peak = tag.StayPeak,
    };

    private struct TagState
    {
        public Epc Epc;
        public int Zone;
        public int Generation;
        public long LastSeenUs;
        public long ZoneSinceUs;
        public long DeadlineUs;
        public int StayReads;
        public int StayRssiReads;
        public long StayRssiSum;
        public short StayPeak;
    }

    private struct Bucket
    {
        // Bucket number since the first read: a long, so a gateway never runs long enough to wrap it.
        public long Epoch;
        public int Count;
        public int RssiCount;
        public int RssiSum;
        public short Peak;
    }

    private struct WindowStats
    {
        public int Count;
        public int RssiCount;
        public long RssiSum;
        public short Peak;

        public readonly int MeanOr(int unknown) => RssiCount > 0 ? (int)(RssiSum / RssiCount) : unknown;
    }

    private readonly record struct TimerRef(int Tag, int Generation);

    private readonly record struct TimerKey(long DeadlineUs, Epc Epc);

    /// <summary>Deadline order, then EPC: timers due at the same instant fire in the same order every time.</summary>
    private sealed class TimerKeyComparer : IComparer<TimerKey>
    {
        public static readonly TimerKeyComparer Instance = new();

        public int Compare(TimerKey x, TimerKey y)
        {
            var c = x.DeadlineUs.CompareTo(y.DeadlineUs);
            return c != 0 ? c : x.Epc.CompareTo(y.Epc);
        }
    }
}
