namespace EdgeStream.Windowing;

/// <summary>A zone's settings with defaults applied, in the units the hot path uses.</summary>
internal readonly record struct ZoneRule(
    string Name,
    ZoneKind Kind,
    int MinReads,
    int MinMeanRssiCentiDbm,
    int MoveMarginCentiDb,
    long HoldOffUs,
    long DepartureUs)
{
    public static ZoneRule From(ZoneOptions zone, ArbitrationOptions defaults, int departureTimeoutMs)
    {
        var o = zone.Arbitration;
        return new ZoneRule(
            zone.Name,
            zone.Kind,
            o?.MinReads ?? defaults.MinReads,
            (int)Math.Round((o?.MinMeanRssiDbm ?? defaults.MinMeanRssiDbm) * 100),
            (int)Math.Round((o?.MoveMarginDb ?? defaults.MoveMarginDb) * 100),
            (o?.HoldOffMs ?? defaults.HoldOffMs) * 1000L,
            (zone.DepartureTimeoutMs ?? departureTimeoutMs) * 1000L);
    }
}
