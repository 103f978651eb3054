using System.Buffers.Binary;
using EdgeStream.Contracts;

namespace EdgeStream.Llrp;

/// <summary>
/// The fields of one TagReportData that matter for tracking, decoded without allocation.
/// Absent fields are 0 with their Has* flag false.
/// </summary>
public struct LlrpTagRead
{
    /// <summary>The tag's EPC (EPC-96 or EPCData of any bit length).</summary>
    public Epc Epc;

    /// <summary>1-based antenna, or 0 when the report carried none.</summary>
    public ushort AntennaId;

    /// <summary>PeakRSSI in dBm, valid when <see cref="HasPeakRssi"/>.</summary>
    public sbyte PeakRssi;

    /// <summary>True when PeakRSSI was present.</summary>
    public bool HasPeakRssi;

    /// <summary>Impinj peak RSSI in hundredths of a dBm, valid when <see cref="HasImpinjPeakRssi"/>.</summary>
    public short ImpinjPeakRssi;

    /// <summary>True when the Impinj peak RSSI extension was present.</summary>
    public bool HasImpinjPeakRssi;

    /// <summary>FirstSeenTimestampUTC in microseconds since the Unix epoch, or 0.</summary>
    public ulong FirstSeenUtc;

    /// <summary>LastSeenTimestampUTC, or 0.</summary>
    public ulong LastSeenUtc;

    /// <summary>FirstSeenTimestampUptime (microseconds since reader boot), or 0.</summary>
    public ulong FirstSeenUptime;

    /// <summary>ChannelIndex, or 0.</summary>
    public ushort ChannelIndex;

    /// <summary>TagSeenCount, or 0 when absent (meaning once).</summary>
    public ushort TagSeenCount;

    /// <summary>RSSI in hundredths of a dBm: Impinj's finer value when present, else PeakRSSI × 100, else <see cref="TagRead.NoRssi"/>.</summary>
    public readonly short RssiCentiDbm => HasImpinjPeakRssi ? ImpinjPeakRssi : HasPeakRssi ? (short)(PeakRssi * 100) : TagRead.NoRssi;
}

/// <summary>
/// Walks the TagReportData of an RO_ACCESS_REPORT body, yielding one <see cref="LlrpTagRead"/> per
/// tag: the hot path, with no allocation for EPCs up to 256 bits. Unknown parameters and vendor
/// Custom parameters are skipped (Impinj peak RSSI is read). A malformed report throws
/// <see cref="LlrpFormatException"/>; a TagReportData without an EPC is malformed.
/// </summary>
public ref struct RoAccessReportReader
{
    private LlrpParameterReader _reader;

    /// <summary>Creates a reader over an RO_ACCESS_REPORT body.</summary>
    public RoAccessReportReader(ReadOnlySpan<byte> body) => _reader = new LlrpParameterReader(body, "RO_ACCESS_REPORT");

    /// <summary>Reads the next tag; false at the end of the report.</summary>
    public bool TryRead(out LlrpTagRead read)
    {
        read = default;
        while (_reader.TryRead(out var p))
        {
            if (p.Type != LlrpParameterType.TagReportData)
            {
                continue;
            }

            var children = p.Children(0);
            var hasEpc = false;
            while (children.TryRead(out var c))
            {
                var b = c.Body;
                switch (c.Type)
                {
                    case LlrpParameterType.Epc96:
                        read.Epc = Epc.FromBytes(b);
                        hasEpc = true;
                        break;
                    case LlrpParameterType.EpcData:
                        if (b.Length < 2)
                        {
                            throw new LlrpFormatException("EPCData: shorter than its bit count.");
                        }

                        var bits = BinaryPrimitives.ReadUInt16BigEndian(b);
                        var bytes = (bits + 7) >> 3;
                        if (bytes > b.Length - 2 || !Epc.TryFromBytes(b.Slice(2, bytes), bits, out read.Epc))
                        {
                            throw new LlrpFormatException($"EPCData: {bits} bits is not a valid EPC length for {b.Length - 2} bytes.");
                        }

                        hasEpc = true;
                        break;
                    case LlrpParameterType.AntennaId: read.AntennaId = BinaryPrimitives.ReadUInt16BigEndian(b); break;
                    case LlrpParameterType.PeakRssi:
                        read.PeakRssi = (sbyte)b[0];
                        read.HasPeakRssi = true;
                        break;
                    case LlrpParameterType.FirstSeenTimestampUtc: read.FirstSeenUtc = BinaryPrimitives.ReadUInt64BigEndian(b); break;
                    case LlrpParameterType.FirstSeenTimestampUptime: read.FirstSeenUptime = BinaryPrimitives.ReadUInt64BigEndian(b); break;
                    case LlrpParameterType.LastSeenTimestampUtc: read.LastSeenUtc = BinaryPrimitives.ReadUInt64BigEndian(b); break;
                    case LlrpParameterType.ChannelIndex: read.ChannelIndex = BinaryPrimitives.ReadUInt16BigEndian(b); break;
                    case LlrpParameterType.TagSeenCount: read.TagSeenCount = BinaryPrimitives.ReadUInt16BigEndian(b); break;
                    case LlrpParameterType.Custom:
                        c.ReadCustom(out var vendor, out var subtype, out var data);
                        if (vendor == LlrpVendor.Impinj && subtype == LlrpVendor.ImpinjPeakRssi && data.Length >= 2)
                        {
                            read.ImpinjPeakRssi = BinaryPrimitives.ReadInt16BigEndian(data);
                            read.HasImpinjPeakRssi = true;
                        }

                        break;
                }
            }

            if (!hasEpc)
            {
                throw new LlrpFormatException("TagReportData: no EPC-96 or EPCData parameter.");
            }

            return true;
        }

        return false;
    }
}
