using EdgeStream.Contracts;

namespace EdgeStream.Windowing;

/// <summary>
/// Turns one gateway's raw tag reads into presence events (arrive / move / depart per zone) and into
/// what the Reads class uploads (deduplicated observations, all reads, or a sample), in the readers'
/// event time.
/// </summary>
/// <remarks>
/// <para>Pure and single-threaded: no I/O, no clocks, no threads inside. The same calls give the same
/// output, and reads that arrive in any order within <see cref="WindowingOptions.ReorderToleranceMs"/>
/// give the same presence events and observations, because reads pass through a bounded reorder buffer
/// and are processed in a total order (event time, then content). The caller owns the thread: call
/// <see cref="OnRead"/> for each read, <see cref="OnTick"/> periodically with the gateway's clock (only used
/// to let departures happen when no reads arrive at all), <see cref="Reconfigure"/> to apply new options live,
/// and <see cref="Flush"/> before discarding it.</para>
/// <para>Memory is bounded: reads in the reorder buffer by <see cref="WindowingOptions.MaxBufferedReads"/>, tags
/// by <see cref="WindowingOptions.MaxTrackedTags"/> (a fixed amount per tag; a tag is forgotten when it departs),
/// open observations by <see cref="WindowingOptions.MaxOpenObservations"/>. The hot path does not allocate once
/// its pools have grown to the working set.</para>
/// </remarks>
public sealed partial class WindowingProcessor
{
    private readonly ZoneRule[] _zones;
    private readonly Dictionary<string, ReaderEntry> _readers = new(StringComparer.Ordinal);
    private readonly long _toleranceUs;
    private readonly long _dedupeUs;
    private readonly ReadsOutputMode _readsMode;
    private readonly int _sampleEvery;
    private readonly ReadHeap _reorder;

    private long _maxEventUs = long.MinValue;
    private long _sweepUs = long.MinValue; // every read with an event time below this has been processed
    private long _sampleCounter;
    private string? _lastReaderId;
    private ReaderEntry? _lastReader;

    // Idle clock: when no reads arrive between ticks, event time is advanced by elapsed processing time.
    private bool _readSinceTick;
    private bool _anchored;
    private long _anchorProcessingUs;
    private long _anchorEventUs;

    private readonly ZoneArbiter _arbiter;
    private long _readsIn, _readsInvalid, _readsUnzoned, _readsLate, _reorderOverflows;
    private long _observationsClosedEarly, _readsForwarded, _observations;

    /// <summary>Creates a processor for validated <paramref name="options"/>.</summary>
    /// <exception cref="WindowingOptionsException">The options are not valid; the message names the key.</exception>
    public WindowingProcessor(WindowingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _toleranceUs = options.ReorderToleranceMs * 1000L;
        _dedupeUs = options.DedupeIntervalMs * 1000L;
        _readsMode = options.Reads.Mode;
        _sampleEvery = options.Reads.SampleEvery;
        _reorder = new ReadHeap(options.MaxBufferedReads);

        _zones = new ZoneRule[options.Zones.Count];
        for (var z = 0; z < _zones.Length; z++)
        {
            var zone = options.Zones[z];
            _zones[z] = ZoneRule.From(zone, options.Arbitration, options.DepartureTimeoutMs);
            foreach (var a in zone.Antennas)
            {
                Reader(a.Reader).SetZone(a.Antenna, z);
            }
        }

        foreach (var r in options.Readers)
        {
            Reader(r.Id).OffsetUs = r.ClockOffsetMs * 1000L;
        }

        _arbiter = new ZoneArbiter(_zones, options.Arbitration.WindowMs, options.DepartureTimeoutMs * 1000L, options.MaxTrackedTags);
        _maxOpenObservations = options.MaxOpenObservations;
        InitObservations();
    }

    /// <summary>The options in force.</summary>
    public WindowingOptions Options { get; }

    /// <summary>Counters since creation.</summary>
    public WindowingStats Stats => new()
    {
        ReadsIn = _readsIn,
        ReadsInvalid = _readsInvalid,
        ReadsUnzoned = _readsUnzoned,
        ReadsLate = _readsLate,
        ReadsOverTagCapacity = _arbiter.ReadsOverCapacity,
        ReorderOverflows = _reorderOverflows,
        ObservationsClosedEarly = _observationsClosedEarly,
        ReadsForwarded = _readsForwarded,
        Observations = _observations,
        Arrivals = _arbiter.Arrivals,
        Moves = _arbiter.Moves,
        Departures = _arbiter.Departures,
        TrackedTags = _arbiter.TrackedTags,
        PresentTags = _arbiter.PresentTags,
        BufferedReads = _reorder.Count,
        OpenObservations = _obsIndex.Count,
    };

    /// <summary>
    /// Takes one read. Raw reads are forwarded at once (modes All and Sampled); windowing happens when the
    /// read's event time falls behind the newest event time seen by more than the reorder tolerance.
    /// </summary>
    public void OnRead(in TagRead read, IWindowOutput output)
    {
        _readsIn++;
        if (read.Epc.IsEmpty || string.IsNullOrEmpty(read.ReaderId) || read.EventTimeUs <= 0)
        {
            _readsInvalid++;
            output.OnRejected(in read, WindowRejectReason.Invalid);
            return;
        }

        _readSinceTick = true;
        var reader = LookupReader(read.ReaderId);
        if (reader is not null && reader.OffsetUs != 0)
        {
            var corrected = read with { EventTimeUs = read.EventTimeUs + reader.OffsetUs };
            Accept(in corrected, output);
        }
        else
        {
            Accept(in read, output);
        }
    }

    /// <summary>Takes a batch of reads, as a pipeline stage drains them from its channel; same as <see cref="OnRead"/> for each.</summary>
    public void OnReads(ReadOnlySpan<TagRead> reads, IWindowOutput output)
    {
        foreach (ref readonly var read in reads)
        {
            OnRead(in read, output);
        }
    }

    /// <summary>
    /// Lets time pass when no reads arrive: if no read came since the previous tick, event time is taken to
    /// advance with <paramref name="processingTimeUs"/> (the gateway's clock, µs), so buffered reads are
    /// windowed and absent tags depart. While reads flow, ticks change nothing: reads drive event time.
    /// </summary>
    public void OnTick(long processingTimeUs, IWindowOutput output)
    {
        if (_maxEventUs == long.MinValue)
        {
            return;
        }

        if (_readSinceTick || !_anchored)
        {
            _readSinceTick = false;
            _anchored = true;
            _anchorProcessingUs = processingTimeUs;
            _anchorEventUs = _maxEventUs;
            return;
        }

        var idleEventUs = _anchorEventUs + Math.Max(0, processingTimeUs - _anchorProcessingUs);
        AdvanceTo(idleEventUs - _toleranceUs, output);
    }

    /// <summary>
    /// Windows every buffered read and closes every open observation (on shutdown or before replacing the
    /// processor). Presence state is kept: tags do not depart because of a flush. Reads older than the
    /// newest read seen count as late afterwards.
    /// </summary>
    public void Flush(IWindowOutput output)
    {
        while (_reorder.Count > 0)
        {
            ReleaseOne(output);
        }

        CloseAllObservations(output);
        if (_maxEventUs != long.MinValue && _maxEventUs + 1 > _sweepUs)
        {
            _sweepUs = _maxEventUs + 1;
        }
    }

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

        _arbiter.CarryInto(next._arbiter, nowUs, output);
        return next;
    }

    private void Accept(in TagRead read, IWindowOutput output)
    {
        switch (_readsMode)
        {
            case ReadsOutputMode.All:
                _readsForwarded++;
                output.OnRead(in read);
                break;
            case ReadsOutputMode.Sampled:
                if (_sampleCounter++ % _sampleEvery == 0)
                {
                    _readsForwarded++;
                    output.OnRead(in read);
                }

                break;
        }

        if (_reorder.IsFull)
        {
            _reorderOverflows++;
            ReleaseOne(output);
        }

        var t = read.EventTimeUs;
        if (t < _sweepUs)
        {
            // Later than the tolerance allows: windowing has moved past it. It is not lost: the raw read was
            // forwarded above, or it becomes an observation of its own.
            _readsLate++;
            if (_readsMode == ReadsOutputMode.Summaries)
            {
                EmitSingleObservation(in read, output);
            }

            return;
        }

        _reorder.Push(in read);
        if (t > _maxEventUs)
        {
            _maxEventUs = t;
        }

        AdvanceTo(_maxEventUs - _toleranceUs, output);
    }

    /// <summary>Processes every buffered read before <paramref name="watermarkUs"/> and every timer due before it.</summary>
    private void AdvanceTo(long watermarkUs, IWindowOutput output)
    {
        if (watermarkUs <= _sweepUs)
        {
            return;
        }

        while (_reorder.Count > 0 && _reorder.MinTimeUs < watermarkUs)
        {
            ReleaseOne(output);
        }

        FireDue(watermarkUs, inclusive: false, output);
        _sweepUs = watermarkUs;
    }

    private void ReleaseOne(IWindowOutput output)
    {
        var read = _reorder.Pop();
        var t = read.EventTimeUs;

        // Timers due at or before this read fire first: a tag unseen for exactly the timeout has departed
        // before a read at that instant brings it back.
        FireDue(t, inclusive: true, output);
        if (t > _sweepUs)
        {
            _sweepUs = t;
        }

        var reader = LookupReader(read.ReaderId);
        var zone = reader?.ZoneOf(read.Antenna) ?? -1;
        if (_readsMode == ReadsOutputMode.Summaries)
        {
            Observe(in read, zone, output);
        }

        if (zone < 0)
        {
            _readsUnzoned++;
            return;
        }

        _arbiter.Arbitrate(in read, zone, output);
    }

    /// <summary>Fires observation closes and departure timers in deadline order up to <paramref name="limitUs"/>.</summary>
    private void FireDue(long limitUs, bool inclusive, IWindowOutput output)
    {
        while (true)
        {
            var observationDue = NextObservationDeadline();
            var timerDue = _arbiter.NextTimerDeadline();
            var next = Math.Min(observationDue, timerDue);
            if (next == long.MaxValue || (inclusive ? next > limitUs : next >= limitUs))
            {
                return;
            }

            if (observationDue <= timerDue)
            {
                CloseOldestObservation(output);
            }
            else
            {
                _arbiter.FireNextTimer(output);
            }
        }
    }

    private ReaderEntry? LookupReader(string readerId)
    {
        if (ReferenceEquals(readerId, _lastReaderId))
        {
            return _lastReader;
        }

        _readers.TryGetValue(readerId, out var entry);
        _lastReaderId = readerId;
        _lastReader = entry;
        return entry;
    }

    private ReaderEntry Reader(string id)
    {
        if (!_readers.TryGetValue(id, out var entry))
        {
            entry = new ReaderEntry();
            _readers.Add(id, entry);
        }

        return entry;
    }

    /// <summary>A configured reader: antenna → zone map and clock offset.</summary>
    private sealed class ReaderEntry
    {
        private int[] _zoneByAntenna = [];

        public long OffsetUs { get; set; }

        public int ZoneOf(ushort antenna) => antenna < _zoneByAntenna.Length ? _zoneByAntenna[antenna] : -1;

        public void SetZone(int antenna, int zone)
        {
            if (antenna >= _zoneByAntenna.Length)
            {
                var old = _zoneByAntenna.Length;
                Array.Resize(ref _zoneByAntenna, antenna + 1);
                _zoneByAntenna.AsSpan(old).Fill(-1);
            }

            _zoneByAntenna[antenna] = zone;
        }
    }
}
