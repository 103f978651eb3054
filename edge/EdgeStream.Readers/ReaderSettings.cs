using System.Globalization;

namespace EdgeStream.Readers;

/// <summary>
/// How a reader is configured and supervised. Immutable; defaults are written here and nowhere else.
/// Every setting can also be given as a query parameter of the reader URI (see <see cref="ReaderDrivers"/>),
/// which overrides the value here. <see cref="Validate"/> names the offending key.
/// </summary>
public sealed record ReaderSettings
{
    /// <summary>The defaults.</summary>
    public static ReaderSettings Default { get; } = new();

    /// <summary>Antennas to inventory, 1-based; empty means every antenna. URI key <c>antennas=1,2,4</c>.</summary>
    public IReadOnlyList<ushort> Antennas { get; init; } = [];

    /// <summary>Transmit power in dBm; the nearest level the reader supports is used. Null: the reader's default. URI key <c>power</c>.</summary>
    public double? TransmitPowerDbm { get; init; }

    /// <summary>Gen2 session 0–3. URI key <c>session</c>.</summary>
    public byte Session { get; init; } = 1;

    /// <summary>Impinj inventory search mode (0 reader-selected, 1 single target, 2 dual target, 3 single target with suppression); null leaves it unset. URI key <c>searchmode</c>.</summary>
    public ushort? SearchMode { get; init; }

    /// <summary>Expected tag population, a Gen2 tuning hint. URI key <c>population</c>.</summary>
    public ushort TagPopulation { get; init; } = 32;

    /// <summary>Send a report every N tags (LLRP) — 1 for the lowest latency. URI key <c>report-every</c>.</summary>
    public ushort ReportEveryNTags { get; init; } = 1;

    /// <summary>When set, report on this period instead (LLRP periodic ROSpec). URI key <c>report-ms</c>.</summary>
    public TimeSpan? ReportInterval { get; init; }

    /// <summary>How often the reader sends KEEPALIVE. URI key <c>keepalive-ms</c>.</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The link is declared dead after this many keepalive intervals without any message. URI key <c>dead-after</c>.</summary>
    public int MissedKeepalivesBeforeDead { get; init; } = 3;

    /// <summary>Time allowed to open the connection. URI key <c>connect-timeout-ms</c>.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for each answer during configuration. URI key <c>response-timeout-ms</c>.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay; doubles (with jitter) up to <see cref="ReconnectMaxDelay"/>. URI key <c>backoff-min-ms</c>.</summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest reconnect delay. URI key <c>backoff-max-ms</c>.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Serial line speed. URI key <c>baud</c>.</summary>
    public int BaudRate { get; init; } = 115200;

    /// <summary>R2000 module address (255 = broadcast). URI key <c>address</c>.</summary>
    public byte SerialAddress { get; init; } = 255;

    /// <summary>R2000: inventory rounds per command (the 0x89 repeat byte). URI key <c>repeat</c>.</summary>
    public byte InventoryRepeat { get; init; } = 1;

    /// <summary>The link to a device is declared dead after this long without a byte (serial devices). URI key <c>read-timeout-ms</c>.</summary>
    public TimeSpan SerialReadTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Operator stamped on scanner reads. URI key <c>operator</c>.</summary>
    public string? OperatorId { get; init; }

    /// <summary>
    /// The zone a scanner stands in (a desk, a dock door): its scans are manual placements there, by the
    /// operator. URI key <c>zone</c>; without it a scan is a sighting only.
    /// </summary>
    public string? Zone { get; init; }

    /// <summary>The dead-link deadline derived from the keepalive settings.</summary>
    public TimeSpan DeadLinkDeadline => KeepaliveInterval * MissedKeepalivesBeforeDead;

    /// <summary>Checks every setting and throws naming the first bad key and its allowed values.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public ReaderSettings Validate()
    {
        static void Require(bool ok, string key, string allowed, object? value)
        {
            if (!ok)
            {
                throw new ArgumentException($"Reader setting '{key}' = '{Convert.ToString(value, CultureInfo.InvariantCulture)}' is invalid: {allowed}.");
            }
        }

        Require(Antennas.All(a => a is >= 1 and <= 64), "antennas", "antenna numbers are 1..64", string.Join(',', Antennas));
        Require(TransmitPowerDbm is null || (TransmitPowerDbm >= -10 && TransmitPowerDbm <= 40), "power", "dBm between -10 and 40", TransmitPowerDbm);
        Require(Session <= 3, "session", "0, 1, 2 or 3", Session);
        Require(SearchMode is null or <= 3, "searchmode", "0, 1, 2 or 3", SearchMode);
        Require(ReportEveryNTags >= 1, "report-every", "1 or more tags", ReportEveryNTags);
        Require(ReportInterval is null || (ReportInterval >= TimeSpan.FromMilliseconds(10) && ReportInterval <= TimeSpan.FromHours(1)), "report-ms", "10 ms to 1 hour", ReportInterval?.TotalMilliseconds);
        Require(KeepaliveInterval >= TimeSpan.FromMilliseconds(50) && KeepaliveInterval <= TimeSpan.FromMinutes(10), "keepalive-ms", "50 ms to 10 minutes", KeepaliveInterval.TotalMilliseconds);
        Require(MissedKeepalivesBeforeDead is >= 2 and <= 100, "dead-after", "2..100 keepalive intervals", MissedKeepalivesBeforeDead);
        Require(ConnectTimeout > TimeSpan.Zero, "connect-timeout-ms", "more than 0", ConnectTimeout.TotalMilliseconds);
        Require(ResponseTimeout > TimeSpan.Zero, "response-timeout-ms", "more than 0", ResponseTimeout.TotalMilliseconds);
        Require(ReconnectMinDelay > TimeSpan.Zero, "backoff-min-ms", "more than 0", ReconnectMinDelay.TotalMilliseconds);
        Require(ReconnectMaxDelay >= ReconnectMinDelay, "backoff-max-ms", "at least backoff-min-ms", ReconnectMaxDelay.TotalMilliseconds);
        Require(BaudRate is >= 1200 and <= 4_000_000, "baud", "1200..4000000", BaudRate);
        Require(InventoryRepeat >= 1, "repeat", "1..255", InventoryRepeat);
        Require(SerialReadTimeout > TimeSpan.Zero, "read-timeout-ms", "more than 0", SerialReadTimeout.TotalMilliseconds);
        return this;
    }
}
