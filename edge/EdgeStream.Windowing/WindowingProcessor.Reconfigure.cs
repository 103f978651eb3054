using EdgeStream.Contracts;

namespace EdgeStream.Windowing;

public sealed partial class WindowingProcessor
{
    /// <summary>
    /// Applies new options live: returns a processor for <paramref name="options"/> that carries on where this
    /// one stops, so a configuration push does not make every tag arrive again. This processor is flushed
    /// (buffered reads windowed, observations emitted) and must not be used afterwards. Tags present in a zone
    /// that still exists (by name) stay there, with their last-seen time and stay evidence; their RSSI window
    /// starts afresh, so the new zone's hold-off applies from now. Tags in a zone that no longer exists, or
    /// beyond the new <see cref="WindowingOptions.MaxTrackedTags"/>, depart now. Event time continues: reads
    /// older than what this processor already windowed count as late in the new one.
    /// </summary>
    /// <exception cref="WindowingOptionsException">The new options are not valid; nothing is changed.</exception>
    public WindowingProcessor Reconfigure(WindowingOptions options, IWindowOutput output)
    {
        var next = new WindowingProcessor(options); // validates before anything is touched
        Flush(output);

        next._maxEventUs = _maxEventUs;
        next._sweepUs = _sweepUs;
        next._readSinceTick = _readSinceTick;
        next._anchored = _anchored;
        next._anchorProcessingUs = _anchorProcessingUs;
        next._anchorEventUs = _anchorEventUs;
        var nowUs = _maxEventUs == long.MinValue ? 0 : _maxEventUs;

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

            _departures++;
            _present--;
            output.OnPresence(Presence(tag.Epc, PresenceKind.Depart, tag.Zone, null, Math.Max(nowUs, tag.LastSeenUs), StayEvidence(in tag)));
        }

        return next;
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
}
