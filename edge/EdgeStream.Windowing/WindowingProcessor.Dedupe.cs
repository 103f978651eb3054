using System.Runtime.InteropServices;
using EdgeStream.Contracts;

namespace EdgeStream.Windowing;

public sealed partial class WindowingProcessor
{
    private readonly int _maxOpenObservations;
    private Dictionary<ObservationKey, int> _obsIndex = null!;
    private ObservationState[] _obs = null!;
    private int[] _freeObs = null!;
    private int _freeObsCount;

    // Open observations in the order they opened. Reads are processed in event-time order and every
    // observation lasts the same interval, so this FIFO is also deadline order: no heap needed.
    private int[] _obsQueue = null!;
    private int _obsHead;
    private int _obsQueued;

    private void InitObservations()
    {
        var initial = Math.Min(_maxOpenObservations, 1024);
        _obsIndex = new Dictionary<ObservationKey, int>(initial);
        _obs = [];
        _freeObs = [];
        _obsQueue = new int[initial];
        GrowObservations(initial);
    }

    /// <summary>Adds a read to its tag-and-antenna observation, opening one if none is open.</summary>
    private void Observe(in TagRead read, int zone, IWindowOutput output)
    {
        var key = new ObservationKey(read.Epc, read.ReaderId, read.Antenna);
        if (_obsIndex.Count >= _maxOpenObservations && !_obsIndex.ContainsKey(key))
        {
            _observationsClosedEarly++;
            CloseOldestObservation(output);
        }

        ref var indexRef = ref CollectionsMarshal.GetValueRefOrAddDefault(_obsIndex, key, out var exists);
        if (!exists)
        {
            indexRef = OpenObservation(in read, zone);
            return;
        }

        ref var o = ref _obs[indexRef];
        o.LastUs = read.EventTimeUs;
        o.Count++;
        o.Seen += Math.Max((ushort)1, read.SeenCount);
        var rssi = read.RssiCentiDbm;
        if (rssi != TagRead.NoRssi)
        {
            o.RssiCount++;
            o.RssiSum += rssi;
            if (rssi > o.Peak)
            {
                o.Peak = rssi;
            }
        }
    }

    private int OpenObservation(in TagRead read, int zone)
    {
        if (_freeObsCount == 0)
        {
            GrowObservations(Math.Min(_maxOpenObservations, _obs.Length * 2));
        }

        var i = _freeObs[--_freeObsCount];
        var rssi = read.RssiCentiDbm;
        var hasRssi = rssi != TagRead.NoRssi;
        _obs[i] = new ObservationState
        {
            Key = new ObservationKey(read.Epc, read.ReaderId, read.Antenna),
            Zone = zone >= 0 ? _zones[zone].Name : null,
            Source = read.Source,
            FirstUs = read.EventTimeUs,
            LastUs = read.EventTimeUs,
            Count = 1,
            Seen = Math.Max((ushort)1, read.SeenCount),
            RssiCount = hasRssi ? 1 : 0,
            RssiSum = hasRssi ? rssi : 0,
            Peak = rssi,
        };
        _obsQueue[(_obsHead + _obsQueued) % _obsQueue.Length] = i;
        _obsQueued++;
        return i;
    }

    private long NextObservationDeadline() =>
        _obsQueued == 0 ? long.MaxValue : _obs[_obsQueue[_obsHead]].FirstUs + _dedupeUs;

    private void CloseOldestObservation(IWindowOutput output)
    {
        var i = _obsQueue[_obsHead];
        _obsHead = (_obsHead + 1) % _obsQueue.Length;
        _obsQueued--;
        ref var o = ref _obs[i];
        _observations++;
        output.OnObservation(new TagObservation
        {
            Epc = o.Key.Epc,
            ReaderId = o.Key.ReaderId,
            Source = o.Source,
            Antenna = o.Key.Antenna,
            Zone = o.Zone,
            FirstSeenUs = o.FirstUs,
            LastSeenUs = o.LastUs,
            ReadCount = o.Count,
            SeenCount = o.Seen,
            PeakRssiCentiDbm = o.Peak,
            MeanRssiCentiDbm = o.RssiCount > 0 ? (short)(o.RssiSum / o.RssiCount) : TagRead.NoRssi,
        });
        _obsIndex.Remove(o.Key);
        o = default;
        _freeObs[_freeObsCount++] = i;
    }

    private void CloseAllObservations(IWindowOutput output)
    {
        while (_obsQueued > 0)
        {
            CloseOldestObservation(output);
        }
    }

    /// <summary>A read that came too late to be windowed still reaches the Reads class, as an observation of one.</summary>
    private void EmitSingleObservation(in TagRead read, IWindowOutput output)
    {
        var zone = LookupReader(read.ReaderId)?.ZoneOf(read.Antenna) ?? -1;
        _observations++;
        output.OnObservation(new TagObservation
        {
            Epc = read.Epc,
            ReaderId = read.ReaderId,
            Source = read.Source,
            Antenna = read.Antenna,
            Zone = zone >= 0 ? _zones[zone].Name : null,
            FirstSeenUs = read.EventTimeUs,
            LastSeenUs = read.EventTimeUs,
            ReadCount = 1,
            SeenCount = Math.Max((ushort)1, read.SeenCount),
            PeakRssiCentiDbm = read.RssiCentiDbm,
            MeanRssiCentiDbm = read.RssiCentiDbm,
        });
    }

    private void GrowObservations(int size)
    {
        var old = _obs.Length;
        if (size <= old)
        {
            return;
        }

        Array.Resize(ref _obs, size);
        Array.Resize(ref _freeObs, size);
        for (var i = size - 1; i >= old; i--)
        {
            _freeObs[_freeObsCount++] = i;
        }

        if (_obsQueue.Length < size)
        {
            // Unroll the ring into the larger array so head = 0.
            var queue = new int[size];
            for (var k = 0; k < _obsQueued; k++)
            {
                queue[k] = _obsQueue[(_obsHead + k) % _obsQueue.Length];
            }

            _obsQueue = queue;
            _obsHead = 0;
        }
    }

    private readonly record struct ObservationKey(Epc Epc, string ReaderId, ushort Antenna);

    private struct ObservationState
    {
        public ObservationKey Key;
        public string? Zone;
        public SourceKind Source;
        public long FirstUs;
        public long LastUs;
        public int Count;
        public int Seen;
        public int RssiCount;
        public long RssiSum;
        public short Peak;
    }
}
