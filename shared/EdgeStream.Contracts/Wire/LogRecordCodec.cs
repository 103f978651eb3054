using System.Buffers.Binary;
using System.Text;

namespace EdgeStream.Contracts.Wire;

/// <summary>One read or presence event as stored in the event log, with the batch it arrived in.</summary>
/// <param name="GatewayId">The gateway that sent it.</param>
/// <param name="Sequence">The gateway's batch sequence number.</param>
/// <param name="Index">The record's position in that batch: (gateway, sequence, index) identifies it, so a consumer can drop an exact duplicate.</param>
/// <param name="BatchCount">How many records the batch has, so a reader of the log can tell a whole batch from part of one.</param>
/// <param name="Class">Whether <see cref="Read"/> or <see cref="Presence"/> is set.</param>
/// <param name="Read">The read, when <see cref="Class"/> is <see cref="DataClass.Reads"/>.</param>
/// <param name="Presence">The presence event, when <see cref="Class"/> is <see cref="DataClass.Presence"/>.</param>
public readonly record struct LogEntry(string GatewayId, ulong Sequence, int Index, int BatchCount, DataClass Class, TagRead Read, PresenceEvent Presence)
{
    /// <summary>The manual event, when <see cref="Class"/> is <see cref="DataClass.Manual"/>.</summary>
    public ManualEvent Manual { get; init; }

    /// <summary>When ingest received the record (µs since the epoch, the cloud's clock); 0 in version 1 records.</summary>
    public long IngestTimeUs { get; init; }

    /// <summary>
    /// How far ingest judged the source's clock ahead (positive) or behind (negative) when it received the
    /// record: the corrected event time is <see cref="EventTimeUs"/> minus this. 0 when no correction was made.
    /// </summary>
    public long ClockOffsetUs { get; init; }

    /// <summary>
    /// The event time to place the record by: <see cref="EventTimeUs"/> corrected by <see cref="ClockOffsetUs"/>,
    /// and never later than the moment ingest received it (nothing is received before it happens).
    /// </summary>
    public long CorrectedTimeUs
    {
        get
        {
            var t = EventTimeUs - ClockOffsetUs;
            return IngestTimeUs > 0 && t > IngestTimeUs ? IngestTimeUs : t;
        }
    }

    /// <summary>For a <see cref="DataClass.Mark"/>, the key that routed it to its partition.</summary>
    public Epc MarkEpc { get; init; }

    /// <summary>For a <see cref="DataClass.Mark"/>, the mark's time (gateway clock).</summary>
    public long MarkTimeUs { get; init; }

    /// <summary>The tag (for a mark, its partition's key).</summary>
    public Epc Epc => Class switch { DataClass.Reads => Read.Epc, DataClass.Manual => Manual.Epc, DataClass.Mark => MarkEpc, _ => Presence.Epc };

    /// <summary>Event time, µs since the Unix epoch (UTC).</summary>
    public long EventTimeUs => Class switch { DataClass.Reads => Read.EventTimeUs, DataClass.Manual => Manual.EventTimeUs, DataClass.Mark => MarkTimeUs, _ => Presence.EventTimeUs };
}

/// <summary>
/// The value of one event-log record (the key is the EPC's bytes, the log timestamp the event time).
/// Version 2, documented in <c>docs/ingest.md</c> (version 1 is version 2 without the last line, and is still read):
/// <code>
/// version:u8=2  class:u8 (1 read, 2 presence)  gatewayId:str  sequence:varint  index:varint  batchCount:varint  eventTimeUs:zigzag  epc:(bits:varint, bytes)
/// read:     readerId:str  antenna:varint  rssi:zigzag  source:u8  seenCount:varint  operator:(u8 0|1, str)
/// presence: kind:u8  zone:str  fromZone:(u8 0|1, str)  readCount:varint  peakRssi:zigzag  meanRssi:zigzag
/// manual:   kind:u8  zone:(u8 0|1, str)  action:(u8 0|1, str)  untilUs:zigzag  by:str  reason:(u8 0|1, str)  clientId:str   (version 2 only; gatewayId is "@manual", batchCount 1)
/// v2:       ingestTimeUs:zigzag  clockOffsetUs:zigzag
/// mark:     (nothing: the header's gateway, sequence and time say it all; the EPC is the partition's key)
/// v3:       zone:str   (reads only: a scan's zone; version 3 is written only for a read that has one)
/// </code>
/// str = varint byte length + UTF-8. Pure and allocation-free on encode.
/// </summary>
public static class LogRecordCodec
{
    /// <summary>The version this build writes for every record but a scan with a zone (it reads 1, 2 and 3).</summary>
    public const byte Version = 2;

    /// <summary>The version of a read that carries a scan's zone.</summary>
    public const byte ScanVersion = 3;

    /// <summary>An upper bound of one encoded record, for sizing buffers.</summary>
    public const int MaxEncodedBytes = 2 + (3 + Topics.MaxGatewayIdLength) + 10 + 5 + 5 + 10 + (2 + (Epc.MaxBits / 8)) + (5 * (2 + WireLimits.MaxStringBytes)) + 2 + 5 + 5 + 3 + 10 + 20;

    /// <summary>Encodes a read; returns the bytes written.</summary>
    public static int EncodeRead(string gatewayId, ulong sequence, int index, int batchCount, in TagRead read, Span<byte> destination, long ingestTimeUs = 0, long clockOffsetUs = 0)
    {
        var w = new SpanWriter(destination);
        Header(ref w, DataClass.Reads, gatewayId, sequence, index, batchCount, read.EventTimeUs, read.Epc, read.Zone is null ? Version : ScanVersion);
        w.String(read.ReaderId);
        w.VarUInt(read.Antenna);
        w.VarInt(read.RssiCentiDbm);
        w.Byte((byte)read.Source);
        w.VarUInt(read.SeenCount);
        w.OptionalString(read.OperatorId);
        w.VarInt(ingestTimeUs);
        w.VarInt(clockOffsetUs);
        if (read.Zone is { } zone)
        {
            w.String(zone);
        }

        return w.Position;
    }

    /// <summary>Encodes a presence event; returns the bytes written.</summary>
    public static int EncodePresence(string gatewayId, ulong sequence, int index, int batchCount, in PresenceEvent presence, Span<byte> destination, long ingestTimeUs = 0, long clockOffsetUs = 0)
    {
        var w = new SpanWriter(destination);
        Header(ref w, DataClass.Presence, gatewayId, sequence, index, batchCount, presence.EventTimeUs, presence.Epc);
        w.Byte((byte)presence.Kind);
        w.String(presence.Zone);
        w.OptionalString(presence.FromZone);
        w.VarUInt((ulong)presence.ReadCount);
        w.VarInt(presence.PeakRssiCentiDbm);
        w.VarInt(presence.MeanRssiCentiDbm);
        w.VarInt(ingestTimeUs);
        w.VarInt(clockOffsetUs);
        return w.Position;
    }

    /// <summary>
    /// Encodes a manual event (its sequence is the cloud's number for it); returns the bytes written.
    /// <paramref name="source"/> is the source it carries: people's (<see cref="ManualEvent.Source"/>), or
    /// another stage of the cloud's for what it derives (a peer's entering).
    /// </summary>
    /// <exception cref="ArgumentException">A text field is longer than the format allows.</exception>
    public static int EncodeManual(ulong sequence, in ManualEvent manual, Span<byte> destination, long ingestTimeUs, string source = ManualEvent.Source)
    {
        var w = new SpanWriter(destination);
        Header(ref w, DataClass.Manual, source, sequence, 0, 1, manual.EventTimeUs, manual.Epc);
        w.Byte((byte)manual.Kind);
        w.OptionalString(manual.Zone);
        w.OptionalString(manual.Action);
        w.VarInt(manual.UntilUs);
        w.String(manual.By);
        w.OptionalString(manual.Reason);
        w.String(manual.ClientId);
        w.VarInt(ingestTimeUs);
        w.VarInt(0);
        return w.Position;
    }

    /// <summary>
    /// Encodes a gateway's watermark mark for one partition: <paramref name="key"/> is the key that routes it
    /// there (carried as the EPC), <paramref name="timeUs"/> the mark (gateway clock; placed by the
    /// corrected time, as every record of the gateway).
    /// </summary>
    public static int EncodeMark(string gatewayId, ulong sequence, in Epc key, long timeUs, Span<byte> destination, long ingestTimeUs, long clockOffsetUs)
    {
        var w = new SpanWriter(destination);
        Header(ref w, DataClass.Mark, gatewayId, sequence, 0, 1, timeUs, key);
        w.VarInt(ingestTimeUs);
        w.VarInt(clockOffsetUs);
        return w.Position;
    }

    /// <summary>Decodes a record value.</summary>
    /// <exception cref="WireFormatException">Not a valid record of a known version.</exception>
    public static LogEntry Decode(ReadOnlySpan<byte> value)
    {
        var r = new SpanReader(value);
        var version = r.Byte();
        if (version is not (1 or Version or ScanVersion))
        {
            throw new WireFormatException(WireError.UnsupportedVersion, $"Log record version {version} is not supported (this build reads 1 to {ScanVersion}).");
        }

        var dataClass = (DataClass)r.Byte();
        var gatewayId = r.String();
        var sequence = r.VarUInt();
        var index = r.VarUInt();
        var batchCount = r.VarUInt();
        var time = r.VarInt();
        var bits = r.VarUInt();
        if (bits is 0 or > Epc.MaxBits || index >= batchCount || batchCount > int.MaxValue)
        {
            throw new WireFormatException(WireError.Malformed, "Log record has an invalid EPC length, index or batch count.");
        }

        var epc = Epc.FromBytes(r.Bytes((int)(bits + 7) >> 3), (int)bits);
        LogEntry entry;
        if (dataClass == DataClass.Reads)
        {
            var reader = r.String();
            var antenna = r.VarUInt();
            var rssi = r.VarInt();
            var source = (SourceKind)r.Byte();
            var seen = r.VarUInt();
            var op = r.OptionalString();
            if (antenna > ushort.MaxValue || rssi is < short.MinValue or > short.MaxValue || seen > ushort.MaxValue)
            {
                throw new WireFormatException(WireError.Malformed, "Log record read has a field out of range.");
            }

            entry = new LogEntry(gatewayId, sequence, (int)index, (int)batchCount, dataClass, new TagRead
            {
                Epc = epc,
                ReaderId = reader,
                Antenna = (ushort)antenna,
                RssiCentiDbm = (short)rssi,
                EventTimeUs = time,
                Source = source,
                SeenCount = (ushort)seen,
                OperatorId = op,
            }, default);
        }
        else if (dataClass == DataClass.Presence)
        {
            var kind = (PresenceKind)r.Byte();
            var zone = r.String();
            var from = r.OptionalString();
            var count = r.VarUInt();
            var peak = r.VarInt();
            var mean = r.VarInt();
            if (count > int.MaxValue || peak is < short.MinValue or > short.MaxValue || mean is < short.MinValue or > short.MaxValue)
            {
                throw new WireFormatException(WireError.Malformed, "Log record presence event has a field out of range.");
            }

            entry = new LogEntry(gatewayId, sequence, (int)index, (int)batchCount, dataClass, default, new PresenceEvent
            {
                Epc = epc,
                Kind = kind,
                Zone = zone,
                FromZone = from,
                EventTimeUs = time,
                ReadCount = (int)count,
                PeakRssiCentiDbm = (short)peak,
                MeanRssiCentiDbm = (short)mean,
            });
        }
        else if (dataClass == DataClass.Manual && version >= 2)
        {
            var kind = (ManualKind)r.Byte();
            var zone = r.OptionalString();
            var action = r.OptionalString();
            var until = r.VarInt();
            var by = r.String();
            var reason = r.OptionalString();
            var clientId = r.String();
            if (kind is < ManualKind.Place or > ManualKind.Peer || until < 0)
            {
                throw new WireFormatException(WireError.Malformed, "Log record manual event has a field out of range.");
            }

            entry = new LogEntry(gatewayId, sequence, (int)index, (int)batchCount, dataClass, default, default)
            {
                Manual = new ManualEvent { Epc = epc, Kind = kind, EventTimeUs = time, Zone = zone, Action = action, UntilUs = until, By = by, Reason = reason, ClientId = clientId },
            };
        }
        else if (dataClass == DataClass.Mark && version >= 2)
        {
            entry = new LogEntry(gatewayId, sequence, (int)index, (int)batchCount, dataClass, default, default) { MarkEpc = epc, MarkTimeUs = time };
        }
        else
        {
            throw new WireFormatException(WireError.Malformed, $"Log record class {(byte)dataClass} is unknown.");
        }

        if (version >= 2)
        {
            entry = entry with { IngestTimeUs = r.VarInt(), ClockOffsetUs = r.VarInt() };
        }

        if (version == ScanVersion)
        {
            if (dataClass != DataClass.Reads)
            {
                throw new WireFormatException(WireError.Malformed, "Log record version 3 is a read's.");
            }

            entry = entry with { Read = entry.Read with { Zone = r.String() } };
        }

        if (!r.AtEnd)
        {
            throw new WireFormatException(WireError.Malformed, "Log record has trailing bytes.");
        }

        return entry;
    }

    private static void Header(ref SpanWriter w, DataClass dataClass, string gatewayId, ulong sequence, int index, int batchCount, long time, Epc epc, byte version = Version)
    {
        w.Byte(version);
        w.Byte((byte)dataClass);
        w.String(gatewayId);
        w.VarUInt(sequence);
        w.VarUInt((ulong)index);
        w.VarUInt((ulong)batchCount);
        w.VarInt(time);
        w.VarUInt((ulong)epc.BitLength);
        w.Position += epc.CopyTo(w.Remaining);
    }

    private ref struct SpanWriter(Span<byte> span)
    {
        private readonly Span<byte> _span = span;

        public int Position { get; set; }

        public readonly Span<byte> Remaining => _span[Position..];

        public void Byte(byte b) => _span[Position++] = b;

        public void VarUInt(ulong v) => Position += Wire.VarInt.Write(_span[Position..], v);

        public void VarInt(long v) => VarUInt(Wire.VarInt.ZigZag(v));

        public void String(string s)
        {
            var n = Encoding.UTF8.GetByteCount(s);
            if (n > WireLimits.MaxStringBytes)
            {
                throw new ArgumentException($"A string of {n} UTF-8 bytes exceeds the limit of {WireLimits.MaxStringBytes}.");
            }

            VarUInt((ulong)n);
            Position += Encoding.UTF8.GetBytes(s, _span[Position..]);
        }

        public void OptionalString(string? s)
        {
            Byte(s is null ? (byte)0 : (byte)1);
            if (s is not null)
            {
                String(s);
            }
        }
    }

    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public readonly bool AtEnd => _pos == _data.Length;

        public byte Byte()
        {
            if (_pos >= _data.Length)
            {
                throw Truncated();
            }

            return _data[_pos++];
        }

        public ulong VarUInt()
        {
            if (Wire.VarInt.TryRead(_data, ref _pos, out var value, out var overlong))
            {
                return value;
            }

            throw overlong
                ? new WireFormatException(WireError.Malformed, "Log record has a variable-length integer longer than 10 bytes.")
                : Truncated();
        }

        public long VarInt() => Wire.VarInt.UnZigZag(VarUInt());

        public ReadOnlySpan<byte> Bytes(int n)
        {
            if (_data.Length - _pos < n)
            {
                throw Truncated();
            }

            var s = _data.Slice(_pos, n);
            _pos += n;
            return s;
        }

        public string String()
        {
            var n = VarUInt();
            if (n > WireLimits.MaxStringBytes)
            {
                throw new WireFormatException(WireError.LimitExceeded, $"Log record string of {n} bytes exceeds {WireLimits.MaxStringBytes}.");
            }

            return RecentStrings.Get(Bytes((int)n));
        }

        public string? OptionalString() => Byte() switch
        {
            0 => null,
            1 => String(),
            _ => throw new WireFormatException(WireError.Malformed, "Log record has an invalid optional-string flag."),
        };

        private readonly WireFormatException Truncated() => new(WireError.Truncated, $"Log record ends at byte {_pos} inside a field.");
    }
}

/// <summary>
/// The strings of log records (gateway, reader, zone and operator names) come from small sets and repeat
/// in every record: each thread keeps the ones it decoded lately, so that decoding a record allocates no
/// string it has seen before. Direct-mapped by a hash of the UTF-8 bytes; a collision only costs a decode.
/// </summary>
internal static class RecentStrings
{
    private const int Slots = 256;
    private const int MaxCachedBytes = 64;

    [ThreadStatic]
    private static (byte[] Utf8, string Text)[]? t_slots;

    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedBytes)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var slots = t_slots ??= new (byte[], string)[Slots];
        var hash = (uint)utf8.Length * 2_654_435_761u;
        foreach (var b in utf8)
        {
            hash = (hash ^ b) * 16_777_619u;
        }

        ref var slot = ref slots[hash % Slots];
        if (slot.Utf8 is { } known && utf8.SequenceEqual(known))
        {
            return slot.Text;
        }

        var text = Encoding.UTF8.GetString(utf8);
        slot = (utf8.ToArray(), text);
        return text;
    }
}
