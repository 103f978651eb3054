using System.Collections.Concurrent;

namespace EdgeStream.Gateways;

/// <summary>
/// Measures how far each gateway's event times are from the cloud's clock, and says what correction
/// ingest writes into the log with each record (<c>LogEntry.ClockOffsetUs</c>), so that the tracking job
/// places a skewed gateway's events at the right time and a replay places them the same way.
/// </summary>
/// <remarks>
/// <para>Two offsets, from two kinds of sample, each kept for <see cref="Window"/>:</para>
/// <list type="bullet">
/// <item><b>Gateway clock</b> g: the gateway's clock when it sent a status or sealed a batch, minus when the
/// cloud received it. Delay in the outbox or on the link only makes a sample more negative.</item>
/// <item><b>Reader clock against the gateway</b> r: a batch's newest event time minus the gateway's clock
/// when it sealed the batch. Windowing delay only makes a sample more negative; an outage does not
/// change it, because a batch is sealed before it waits.</item>
/// </list>
/// <para>g is the largest sample in the window (the one least delayed: a gateway announces itself with a
/// status as it connects, so a backlog replayed after an outage, all sealed long ago, is not mistaken
/// for a slow clock; statuses keep a buffer of their own, so that thousands of backlog batches cannot
/// push that status out). r is the third-largest, so that one or two garbage reader timestamps cannot move it.
/// The skew is g + r: event time minus ingest time for an event that was neither delayed nor buffered.</para>
/// <para>Policy: a skew within <see cref="Threshold"/> is left alone (per-gateway watermarks and the
/// allowed lateness absorb it). Beyond it, once three batches and a status message in the window show
/// it, the correction is the skew (without a status, a backlog sealed long ago is indistinguishable from
/// a slow clock, so nothing is corrected): the corrected time is the event time minus the skew. Whatever the correction, the tracking
/// job never places an event later than ingest received it (<c>LogEntry.CorrectedTimeUs</c>), so a clock
/// days ahead cannot put an asset in the future before it is measured.</para>
/// <para>After a restart the estimator starts empty; ingest resumes each gateway's last correction from the
/// log's tail (<see cref="Resume"/>) and keeps applying it, for at most <see cref="Window"/> after it was
/// written, until the gateway's own samples establish a correction again. The same holds within one
/// life: when a gateway's last status ages out of the window (gateways repeat it every minute; an older
/// edge only on connect), the last established correction holds for one more window. A clock does not jump while the
/// cloud restarts, so its first batches after the restart are placed as the ones before it were.</para>
/// </remarks>
public sealed class ClockSkew
{
    /// <summary>Most gateways measured at once; a flood of invented ids clears the table rather than grow it.</summary>
    public const int MaxTrackedGateways = 100_000;

    private const int Rank = 3;
    private const int MaxSamples = 256;
    private readonly ConcurrentDictionary<string, Gateway> _gateways = new(StringComparer.Ordinal);

    /// <summary>Creates the estimator.</summary>
    public ClockSkew(TimeSpan? threshold = null, TimeSpan? window = null)
    {
        Threshold = threshold ?? TimeSpan.FromSeconds(5);
        Window = window ?? TimeSpan.FromMinutes(10);
        if (Threshold < TimeSpan.Zero || Window <= TimeSpan.Zero)
        {
            throw new ArgumentException("Ingest:ClockSkewThreshold must be 0 or more and Ingest:ClockSkewWindow above 0.");
        }
    }

    /// <summary>A skew within this is not corrected.</summary>
    public TimeSpan Threshold { get; }

    /// <summary>How long a sample counts.</summary>
    public TimeSpan Window { get; }

    /// <summary>Gateways measured.</summary>
    public IReadOnlyCollection<string> Gateways => [.. _gateways.Keys];

    /// <summary>A status message: the gateway's clock <paramref name="gatewayClockUs"/> when it sent it, received at <paramref name="receivedUs"/>.</summary>
    public void ObserveStatus(string gatewayId, long gatewayClockUs, long receivedUs)
    {
        if (gatewayClockUs > 0)
        {
            For(gatewayId).Add(gatewayClockUs - receivedUs, null, receivedUs, status: true);
        }
    }

    /// <summary>A batch sealed at gateway time <paramref name="createdUs"/> whose newest event is at <paramref name="newestEventUs"/>, received at <paramref name="receivedUs"/>.</summary>
    public void ObserveBatch(string gatewayId, long createdUs, long newestEventUs, long receivedUs)
    {
        if (createdUs > 0)
        {
            For(gatewayId).Add(createdUs - receivedUs, newestEventUs - createdUs, receivedUs, status: false);
        }
    }

    /// <summary>Resumes a correction written into the log at <paramref name="atUs"/> (ingest time) before a restart.</summary>
    public void Resume(string gatewayId, long correctionUs, long atUs)
    {
        if (correctionUs != 0)
        {
            For(gatewayId).LastCorrection = (atUs, correctionUs);
        }
    }

    /// <summary>The measured skew of a gateway's event times (positive: ahead), or null before any sample.</summary>
    public long? SkewUs(string gatewayId, long nowUs) =>
        _gateways.TryGetValue(gatewayId, out var g) ? g.Estimate(nowUs, (long)Window.TotalMicroseconds).Skew : null;

    /// <summary>What to subtract from the gateway's event times now (0 when the skew is within the threshold or not yet established).</summary>
    public long CorrectionUs(string gatewayId, long nowUs)
    {
        if (!_gateways.TryGetValue(gatewayId, out var g))
        {
            return 0;
        }

        var windowUs = (long)Window.TotalMicroseconds;
        var (skew, _, readerSamples) = g.Estimate(nowUs, windowUs);

        // A batch's seal time cannot tell a slow clock from a batch that waited in the outbox: only a
        // status, sent as the gateway connects, reads its clock fresh. No status in the window, no estimate.
        var established = skew is not null && g.HasStatusSince(nowUs - windowUs) && readerSamples >= Rank;
        if (!established)
        {
            // Until then (or when the gateway's last status has aged out of the window), the correction
            // last in force, this life or before a restart, while it is recent.
            return g.LastCorrection is { } r && r.At >= nowUs - windowUs ? r.Correction : 0;
        }

        var correction = Math.Abs(skew!.Value) <= (long)Threshold.TotalMicroseconds ? 0 : skew.Value;
        g.LastCorrection = (nowUs, correction);
        return correction;
    }

    private Gateway For(string gatewayId)
    {
        if (_gateways.Count >= MaxTrackedGateways && !_gateways.ContainsKey(gatewayId))
        {
            _gateways.Clear();
        }

        return _gateways.GetOrAdd(gatewayId, _ => new Gateway());
    }

    private sealed class Gateway
    {
        // Status samples have a buffer of their own: a backlog of thousands of batches, each sealed long
        // before it arrived, must not push out the one fresh reading of the clock taken as it connected.
        private readonly Samples _status = new();
        private readonly Samples _clock = new();
        private readonly Samples _reader = new();
        private long _lastStatusAt = long.MinValue;

        private (long At, long Correction)? _last;

        /// <summary>The correction last established (or resumed from the log after a restart), and when.</summary>
        public (long At, long Correction)? LastCorrection
        {
            get
            {
                lock (this)
                {
                    return _last;
                }
            }

            set
            {
                lock (this)
                {
                    _last = value;
                }
            }
        }

        public bool HasStatusSince(long since)
        {
            lock (this)
            {
                return _lastStatusAt >= since;
            }
        }

        public void Add(long clockOffset, long? readerOffset, long at, bool status)
        {
            lock (this)
            {
                if (status)
                {
                    _lastStatusAt = Math.Max(_lastStatusAt, at);
                    _status.Add(at, clockOffset);
                }
                else
                {
                    _clock.Add(at, clockOffset);
                }

                if (readerOffset is { } r)
                {
                    _reader.Add(at, r);
                }
            }
        }

        public (long? Skew, int GatewaySamples, int ReaderSamples) Estimate(long nowUs, long windowUs)
        {
            lock (this)
            {
                var since = nowUs - windowUs;
                var (gs, sn) = _status.RankedMax(since, 1);
                var (gb, bn) = _clock.RankedMax(since, 1);
                var (r, rn) = _reader.RankedMax(since, Rank);
                var g = sn == 0 ? gb : bn == 0 ? gs : Math.Max(gs, gb);
                return sn + bn == 0 ? (null, 0, 0) : (g + r, sn + bn, rn);
            }
        }
    }

    /// <summary>The last <see cref="MaxSamples"/> offsets of one kind, with when each was taken.</summary>
    private sealed class Samples
    {
        private readonly (long At, long Offset)[] _items = new (long, long)[MaxSamples];
        private int _count;
        private int _next;

        public void Add(long at, long offset)
        {
            _items[_next] = (at, offset);
            _next = (_next + 1) % MaxSamples;
            _count = Math.Min(_count + 1, MaxSamples);
        }

        public (long Value, int Count) RankedMax(long since, int rank)
        {
            // The rank-th largest offset among samples taken since `since` (the smallest when fewer).
            Span<long> top = stackalloc long[rank];
            var n = 0;
            for (var i = 0; i < _count; i++)
            {
                if (_items[i].At < since)
                {
                    continue;
                }

                var v = _items[i].Offset;
                var k = Math.Min(n, rank - 1);
                if (n < rank || v > top[rank - 1])
                {
                    // Insert v into the descending top list.
                    while (k > 0 && top[k - 1] < v)
                    {
                        top[k] = top[k - 1];
                        k--;
                    }

                    top[k] = v;
                }

                n++;
            }

            return n == 0 ? (0, 0) : (top[Math.Min(n, rank) - 1], n);
        }
    }
}
