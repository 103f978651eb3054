using EdgeStream.Contracts;

namespace EdgeStream.Windowing.Tests;

/// <summary>Builds reads for hand-written test cases.</summary>
internal static class Reads
{
    public static TagRead At(string reader, int antenna, string epcHex, long timeUs, short rssiCentiDbm = -5000, ushort seen = 1) => new()
    {
        Epc = Epc.ParseHex(epcHex),
        ReaderId = reader,
        Antenna = (ushort)antenna,
        RssiCentiDbm = rssiCentiDbm,
        EventTimeUs = timeUs,
        Source = SourceKind.Llrp,
        SeenCount = seen,
    };
}
