namespace EdgeStream.Llrp.Model;

/// <summary>RO_ACCESS_REPORT decoded in full (the hot path uses <see cref="RoAccessReportReader"/> instead).</summary>
public sealed record ROAccessReport(IReadOnlyList<TagReportData> TagReportData, IReadOnlyList<CustomParameter> Custom);

/// <summary>An EPC-96 tag identifier.</summary>
public sealed record Epc96(byte[] Epc);

/// <summary>An EPC of any bit length.</summary>
public sealed record EpcData(ushort EpcNumBits, byte[] Epc);

/// <summary>One tag's report with every optional field the reader may include.</summary>
public sealed record TagReportData
{
    /// <summary>EPC of any length, when not sent as EPC-96.</summary>
    public EpcData? EpcData { get; init; }

    /// <summary>EPC-96, the compact TV form.</summary>
    public Epc96? Epc96 { get; init; }

#pragma warning disable CS1591 // Field names are the spec's.
    public uint? ROSpecId { get; init; }
    public ushort? SpecIndex { get; init; }
    public ushort? InventoryParameterSpecId { get; init; }
    public ushort? AntennaId { get; init; }
    public sbyte? PeakRssi { get; init; }
    public ushort? ChannelIndex { get; init; }
    public ulong? FirstSeenUtc { get; init; }
    public ulong? FirstSeenUptime { get; init; }
    public ulong? LastSeenUtc { get; init; }
    public ulong? LastSeenUptime { get; init; }
    public ushort? TagSeenCount { get; init; }
    public ushort? C1G2Pc { get; init; }
    public ushort? C1G2XpcW1 { get; init; }
    public ushort? C1G2XpcW2 { get; init; }
    public ushort? C1G2Crc { get; init; }
    public uint? AccessSpecId { get; init; }
#pragma warning restore CS1591

    /// <summary>Impinj peak RSSI in hundredths of a dBm, when the reader sent it.</summary>
    public short? ImpinjPeakRssi { get; init; }

    /// <summary>Vendor parameters, kept raw.</summary>
    public IReadOnlyList<CustomParameter> Custom { get; init; } = [];
}
