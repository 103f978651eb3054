using System.Globalization;

namespace EdgeStream.Emulators;

/// <summary>
/// What an emulated LLRP reader does wrong, on purpose. Counts are per connection, so a client that
/// reconnects meets the same fault again. Given on the command line as <c>--fault NAME[=VALUE]</c>.
/// </summary>
public sealed record LlrpFaults
{
    /// <summary>No faults.</summary>
    public static LlrpFaults None { get; } = new();

    /// <summary><c>drop-after=N</c>: reset the TCP connection after N reports.</summary>
    public int? DropAfterReports { get; init; }

    /// <summary><c>stall-after=N</c>: after N reports go silent (no reports, no keepalives, no answers) with the socket open.</summary>
    public int? StallAfterReports { get; init; }

    /// <summary><c>garbage-after=N</c>: after N reports send bytes that are not LLRP.</summary>
    public int? GarbageAfterReports { get; init; }

    /// <summary><c>corrupt-every=N</c>: every Nth report has a corrupted parameter inside an intact frame.</summary>
    public int? CorruptEveryReports { get; init; }

    /// <summary><c>split=N</c>: write every message in N-byte pieces, each its own TCP segment.</summary>
    public int? SplitBytes { get; init; }

    /// <summary><c>coalesce</c>: write all messages of an inventory round in one TCP segment.</summary>
    public bool Coalesce { get; init; }

    /// <summary><c>slow-keepalive=MS</c>: send each keepalive this much later than configured.</summary>
    public int KeepaliveDelayMs { get; init; }

    /// <summary><c>busy=N</c>: refuse the first N connections as if another client were connected.</summary>
    public int BusyConnections { get; init; }

    /// <summary>Parses <c>NAME[=VALUE]</c> fault specifications.</summary>
    /// <exception cref="ArgumentException">An unknown fault or a bad value; the message lists the allowed ones.</exception>
    public static LlrpFaults Parse(IEnumerable<string> specs)
    {
        var f = None;
        foreach (var spec in specs)
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? spec : spec[..eq];
            var value = eq < 0 ? null : spec[(eq + 1)..];
            int N(int min) => value is not null && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
                ? n
                : throw new ArgumentException($"Fault '{spec}': '{name}' needs an integer value of at least {min} ({name}=N).");
            f = name switch
            {
                "drop-after" => f with { DropAfterReports = N(0) },
                "stall-after" => f with { StallAfterReports = N(0) },
                "garbage-after" => f with { GarbageAfterReports = N(0) },
                "corrupt-every" => f with { CorruptEveryReports = N(1) },
                "split" => f with { SplitBytes = N(1) },
                "coalesce" => f with { Coalesce = true },
                "slow-keepalive" => f with { KeepaliveDelayMs = N(0) },
                "busy" => f with { BusyConnections = N(1) },
                _ => throw new ArgumentException($"Unknown fault '{name}'. Allowed: drop-after=N, stall-after=N, garbage-after=N, corrupt-every=N, split=BYTES, coalesce, slow-keepalive=MS, busy=N."),
            };
        }

        return f;
    }
}
