using System.Globalization;
using EdgeStream.Readers.Llrp;
using EdgeStream.Readers.Scanners;
using EdgeStream.Readers.Serial;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers;

/// <summary>
/// Creates the driver a reader URI names:
/// <list type="bullet">
/// <item><c>llrp://host[:port]</c> (port 5084 by default)</item>
/// <item><c>serial:///dev/ttyUSB0?protocol=r2000&amp;baud=115200[&amp;address=255]</c></item>
/// <item><c>serial:///dev/ttyUSB1?protocol=cf-ru5102&amp;baud=57600[&amp;address=0]</c></item>
/// <item><c>serial:///dev/ttyACM0?protocol=lines[&amp;operator=alice]</c> (a line scanner)</item>
/// </list>
/// Any <see cref="ReaderSettings"/> key may be added as a query parameter.
/// </summary>
public static class ReaderDrivers
{
    /// <summary>The IANA port for LLRP.</summary>
    public const int DefaultLlrpPort = 5084;

    /// <summary>Creates a driver; nothing connects until <see cref="IReaderDriver.RunAsync"/>.</summary>
    /// <exception cref="ArgumentException">The URI or a setting in it is invalid; the message names the bad part.</exception>
    public static IReaderDriver Create(string readerUri, string readerId, ILoggerFactory loggerFactory, ReaderSettings? settings = null)
    {
        var target = Parse(readerUri, settings);
        if (string.IsNullOrWhiteSpace(readerId))
        {
            throw new ArgumentException("Reader id must not be empty.", nameof(readerId));
        }

        return target.Kind switch
        {
            ReaderKind.Llrp => new LlrpReaderDriver(target.Host, target.Port, readerId, target.Settings, loggerFactory.CreateLogger<LlrpReaderDriver>()),
            ReaderKind.R2000 => new R2000ReaderDriver(new SerialPortLink(target.Path, target.Settings.BaudRate), readerId, target.Settings, loggerFactory.CreateLogger<R2000ReaderDriver>()),
            ReaderKind.Cf5102 => new Cf5102ReaderDriver(new SerialPortLink(target.Path, target.Settings.BaudRate), readerId, target.Settings, loggerFactory.CreateLogger<Cf5102ReaderDriver>()),
            ReaderKind.Lines => new LineScannerDriver(new SerialPortLink(target.Path, target.Settings.BaudRate), readerId, target.Settings, loggerFactory.CreateLogger<LineScannerDriver>()),
            _ => throw new ArgumentException($"Reader URI '{readerUri}': unsupported kind.", nameof(readerUri)),
        };
    }

    /// <summary>Parses and validates a reader URI without creating a driver.</summary>
    /// <exception cref="ArgumentException">The URI or a setting in it is invalid.</exception>
    public static ReaderTarget Parse(string readerUri, ReaderSettings? settings = null)
    {
        if (!Uri.TryCreate(readerUri, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException($"Reader URI '{readerUri}' is not an absolute URI: expected llrp://host[:port] or serial:///path?protocol=r2000.", nameof(readerUri));
        }

        var query = ParseQuery(uri, readerUri);
        var s = ApplyQuery(settings ?? ReaderSettings.Default, query, readerUri);
        switch (uri.Scheme)
        {
            case "llrp":
                if (string.IsNullOrEmpty(uri.Host))
                {
                    throw new ArgumentException($"Reader URI '{readerUri}': the host is missing (llrp://host[:port]).", nameof(readerUri));
                }

                if (uri.AbsolutePath is not ("/" or ""))
                {
                    throw new ArgumentException($"Reader URI '{readerUri}': an LLRP URI has no path ('{uri.AbsolutePath}').", nameof(readerUri));
                }

                Reject(query, readerUri, "protocol");
                return new ReaderTarget(ReaderKind.Llrp, uri.Host, uri.IsDefaultPort || uri.Port < 0 ? DefaultLlrpPort : uri.Port, string.Empty, s);
            case "serial":
                if (!string.IsNullOrEmpty(uri.Host))
                {
                    throw new ArgumentException($"Reader URI '{readerUri}': a serial URI has no host ('{uri.Host}'); write serial:///dev/ttyUSB0.", nameof(readerUri));
                }

                var path = Uri.UnescapeDataString(uri.AbsolutePath);
                if (path.Length <= 1)
                {
                    throw new ArgumentException($"Reader URI '{readerUri}': the device path is missing (serial:///dev/ttyUSB0?protocol=r2000).", nameof(readerUri));
                }

                if (!query.TryGetValue("protocol", out var protocol))
                {
                    throw new ArgumentException($"Reader URI '{readerUri}': the 'protocol' parameter is missing (allowed: r2000, cf-ru5102, lines).", nameof(readerUri));
                }

                return protocol switch
                {
                    "r2000" => new ReaderTarget(ReaderKind.R2000, string.Empty, 0, path, s),
                    "cf-ru5102" => new ReaderTarget(ReaderKind.Cf5102, string.Empty, 0, path, s),
                    "lines" => new ReaderTarget(ReaderKind.Lines, string.Empty, 0, path, s),
                    _ => throw new ArgumentException($"Reader URI '{readerUri}': protocol '{protocol}' is not supported (allowed: r2000, cf-ru5102, lines).", nameof(readerUri)),
                };
            default:
                throw new ArgumentException($"Reader URI '{readerUri}': scheme '{uri.Scheme}' is not supported (allowed: llrp, serial).", nameof(readerUri));
        }
    }

    private static Dictionary<string, string> ParseQuery(Uri uri, string original)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var q = uri.Query.TrimStart('?');
        if (q.Length == 0)
        {
            return result;
        }

        foreach (var pair in q.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"Reader URI '{original}': query part '{pair}' is not key=value.", nameof(uri));
            }

            var key = Uri.UnescapeDataString(pair[..eq]).ToLowerInvariant();
            if (!result.TryAdd(key, Uri.UnescapeDataString(pair[(eq + 1)..])))
            {
                throw new ArgumentException($"Reader URI '{original}': parameter '{key}' is given twice.", nameof(uri));
            }
        }

        return result;
    }

    private static void Reject(Dictionary<string, string> query, string uri, string key)
    {
        if (query.ContainsKey(key))
        {
            throw new ArgumentException($"Reader URI '{uri}': parameter '{key}' does not apply to this kind of reader.", nameof(uri));
        }
    }

    private static ReaderSettings ApplyQuery(ReaderSettings s, Dictionary<string, string> query, string uri)
    {
        foreach (var (key, value) in query)
        {
            s = key switch
            {
                "protocol" => s,
                "id" => s, // the reader's id, taken by the caller (reader ids name antennas in zone maps)
                "antennas" => s with { Antennas = value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => (ushort)Int(key, v, uri, 1, 64)).ToArray() },
                "power" => s with { TransmitPowerDbm = Double(key, value, uri) },
                "session" => s with { Session = (byte)Int(key, value, uri, 0, 3) },
                "searchmode" => s with { SearchMode = (ushort)Int(key, value, uri, 0, 3) },
                "population" => s with { TagPopulation = (ushort)Int(key, value, uri, 1, ushort.MaxValue) },
                "report-every" => s with { ReportEveryNTags = (ushort)Int(key, value, uri, 1, ushort.MaxValue) },
                "report-ms" => s with { ReportInterval = TimeSpan.FromMilliseconds(Int(key, value, uri, 10, 3_600_000)) },
                "keepalive-ms" => s with { KeepaliveInterval = TimeSpan.FromMilliseconds(Int(key, value, uri, 50, 600_000)) },
                "dead-after" => s with { MissedKeepalivesBeforeDead = Int(key, value, uri, 2, 100) },
                "connect-timeout-ms" => s with { ConnectTimeout = TimeSpan.FromMilliseconds(Int(key, value, uri, 1, 600_000)) },
                "response-timeout-ms" => s with { ResponseTimeout = TimeSpan.FromMilliseconds(Int(key, value, uri, 1, 600_000)) },
                "backoff-min-ms" => s with { ReconnectMinDelay = TimeSpan.FromMilliseconds(Int(key, value, uri, 1, 3_600_000)) },
                "backoff-max-ms" => s with { ReconnectMaxDelay = TimeSpan.FromMilliseconds(Int(key, value, uri, 1, 3_600_000)) },
                "baud" => s with { BaudRate = Int(key, value, uri, 1200, 4_000_000) },
                "address" => s with { SerialAddress = (byte)Int(key, value, uri, 0, 255) },
                "repeat" => s with { InventoryRepeat = (byte)Int(key, value, uri, 1, 255) },
                "read-timeout-ms" => s with { SerialReadTimeout = TimeSpan.FromMilliseconds(Int(key, value, uri, 1, 600_000)) },
                "operator" => s with { OperatorId = value },
                "zone" => s with { Zone = value.Length is > 0 and <= 64 ? value : throw new ArgumentException($"Reader URI '{uri}': parameter 'zone' must be a zone name of 1..64 characters.", nameof(uri)) },
                _ => throw new ArgumentException(
                    $"Reader URI '{uri}': unknown parameter '{key}' (allowed: id, protocol, antennas, power, session, searchmode, population, report-every, report-ms, keepalive-ms, dead-after, connect-timeout-ms, response-timeout-ms, backoff-min-ms, backoff-max-ms, baud, address, repeat, read-timeout-ms, operator, zone).",
                    nameof(uri)),
            };
        }

        try
        {
            return s.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Reader URI '{uri}': {ex.Message}", nameof(uri), ex);
        }
    }

    private static int Int(string key, string value, string uri, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new ArgumentException($"Reader URI '{uri}': parameter '{key}' = '{value}' must be an integer {min}..{max}.", nameof(uri));

    private static double Double(string key, string value, string uri) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new ArgumentException($"Reader URI '{uri}': parameter '{key}' = '{value}' must be a number.", nameof(uri));
}

/// <summary>What kind of device a reader URI names.</summary>
public enum ReaderKind
{
    /// <summary>An LLRP reader over TCP.</summary>
    Llrp,

    /// <summary>An R2000-family serial module.</summary>
    R2000,

    /// <summary>A line-oriented scanner (one code per line).</summary>
    Lines,

    /// <summary>A Chafon CF-RU5102 serial reader.</summary>
    Cf5102,
}

/// <summary>A parsed reader URI.</summary>
public sealed record ReaderTarget(ReaderKind Kind, string Host, int Port, string Path, ReaderSettings Settings);
