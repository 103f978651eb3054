namespace EdgeStream.Contracts.Wire;

/// <summary>Hard limits a decoder enforces before allocating, so a hostile payload cannot exhaust memory.</summary>
public static class WireLimits
{
    /// <summary>Largest payload accepted (bytes).</summary>
    public const int MaxPayloadBytes = 4 * 1024 * 1024;

    /// <summary>Most records in one batch.</summary>
    public const int MaxRecords = 100_000;

    /// <summary>Most distinct strings (reader ids, zones, operators) in one batch.</summary>
    public const int MaxStrings = 4096;

    /// <summary>Longest string (UTF-8 bytes).</summary>
    public const int MaxStringBytes = 256;
}
