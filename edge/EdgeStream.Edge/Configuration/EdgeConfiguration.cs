using System.Globalization;
using System.Net;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Outbox;
using EdgeStream.Uplink.Mqtt;
using EdgeStream.Windowing;
using Microsoft.Extensions.Configuration;

namespace EdgeStream.Edge.Configuration;

/// <summary>
/// Builds <see cref="EdgeOptions"/> from, in rising precedence: built-in defaults, a JSON config file
/// (<c>--config FILE</c> or <c>EDGESTREAM_CONFIG</c>), environment variables (<c>EDGESTREAM_</c> + the
/// key in upper case with '_' for '-': <c>EDGESTREAM_GATEWAY_ID</c>) and command-line options
/// (<c>--gateway-id ID</c>). Every source uses the same keys. Unknown keys and bad values are
/// rejected with an <see cref="OptionsException"/> naming the key.
/// </summary>
public static class EdgeConfiguration
{
    /// <summary>Prefix of the environment variables.</summary>
    public const string EnvPrefix = "EDGESTREAM_";

    /// <summary>Every key, with what it takes; printed by <c>--help</c>.</summary>
    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["config"] = "JSON file with any of these keys (not itself in the file)",
        ["gateway-id"] = "this gateway's id: 1..64 of a-z A-Z 0-9 - _ . (required)",
        ["reader"] = "reader URI, repeatable: llrp://host[:port], serial:///dev/ttyUSB0, sim://?rate=N&tags=M (required); add id=NAME to name it",
        ["broker"] = "mqtt[s]://[user:pass@]host:port (required)",
        ["broker-username"] = "overrides the user in broker",
        ["broker-password"] = "overrides the password in broker",
        ["broker-ca"] = "PEM CA file for mqtts",
        ["client-cert"] = "PEM client certificate for mqtts",
        ["client-key"] = "PEM key of client-cert",
        ["data-dir"] = "outbox directory (default /var/lib/edgestream)",
        ["http"] = "loopback address:port of /healthz and /metrics (default 127.0.0.1:9464; port 0 picks one)",
        ["outbox-max-bytes"] = "outbox size limit, e.g. 2GB (default 2GB)",
        ["outbox-max-age"] = "oldest data kept, e.g. 14d (default 14d)",
        ["outbox-commit-interval"] = "longest delay before appended reads are synced, e.g. 100ms (default 100ms)",
        ["outbox-segment-bytes"] = "segment file size, e.g. 16MB (default 16MB)",
        ["outbox-ingest-capacity"] = "appends (of up to 512 reads) queued for the writer before readers wait (default 256)",
        ["outbox-reads-batch-records"] = "reads per batch at most (default 2000)",
        ["outbox-presence-batch-records"] = "presence events per batch at most (default 500)",
        ["uplink-bandwidth"] = "upload cap in bytes/s, e.g. 64KB (default none)",
        ["uplink-inflight"] = "batches awaiting PUBACK at most (default 16)",
        ["uplink-keepalive"] = "MQTT keep-alive (default 15s)",
        ["uplink-timeout"] = "connect/PUBACK timeout (default 20s)",
        ["uplink-status-interval"] = "how often a connected gateway repeats its status with its clock and buffer levels (default 1m)",
        ["uplink-retry-min"] = "first reconnect delay (default 1s)",
        ["uplink-retry-max"] = "longest reconnect delay (default 1m)",
        ["uplink-breaker-failures"] = "failed connects that open the circuit (default 5)",
        ["uplink-breaker-duration"] = "how long the circuit stays open (default 1m)",
        [WindowingKey] = "config file only: an object with zones (reader, antenna → zone) and windowing settings (docs/windowing.md); without it, raw reads are uploaded unwindowed",
    };

    /// <summary>The config-file key holding the windowing section.</summary>
    public const string WindowingKey = "windowing";

    /// <summary>Reads the sources and validates the result.</summary>
    /// <exception cref="OptionsException">A key is missing, unknown or out of range.</exception>
    public static EdgeOptions Load(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var cli = ParseArgs(args);
        var env = ParseEnvironment(environment);
        var file = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var configPath = Last(cli, "config") ?? Last(env, "config");
        if (configPath is not null)
        {
            file = ParseFile(configPath);
        }

        // Rising precedence; a list (reader) comes whole from the highest source that has it.
        if (cli.ContainsKey(WindowingKey) || env.ContainsKey(WindowingKey))
        {
            throw new OptionsException(WindowingKey, "is a JSON object and can only be given in the config file (--config FILE).");
        }

        var merged = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var source in new[] { file, env, cli })
        {
            foreach (var (k, v) in source)
            {
                merged[k] = v;
            }
        }

        var options = Build(merged);
        return configPath is not null && file.ContainsKey(WindowingKey)
            ? options with { Windowing = LoadWindowing(configPath) }
            : options;
    }

    private static WindowingOptions LoadWindowing(string path)
    {
        try
        {
            var configuration = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(path), optional: false).Build();
            return WindowingOptions.Load(configuration.GetSection(WindowingKey));
        }
        catch (WindowingOptionsException ex)
        {
            throw new OptionsException(ex.Key.Replace("Windowing", WindowingKey, StringComparison.OrdinalIgnoreCase), ex.Message);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            throw new OptionsException(WindowingKey, $"in '{path}': {ex.Message}");
        }
    }

    private static EdgeOptions Build(Dictionary<string, List<string>> v)
    {
        var gateway = Required(v, "gateway-id");
        if (!Topics.IsValidGatewayId(gateway))
        {
            throw new OptionsException("gateway-id", $"'{gateway}' is not valid: 1..{Topics.MaxGatewayIdLength} characters of a-z, A-Z, 0-9, '-', '_', '.'.");
        }

        if (!v.TryGetValue("reader", out var readers) || readers.Count == 0)
        {
            throw new OptionsException("reader", "at least one reader URI is required (--reader URI).");
        }

        var brokerText = Required(v, "broker");
        if (!Uri.TryCreate(brokerText, UriKind.Absolute, out var broker))
        {
            throw new OptionsException("broker", $"'{brokerText}' is not a URI: expected mqtt[s]://[user:pass@]host:port.");
        }

        var defaults = new OutboxOptions { GatewayId = gateway };
        var outbox = defaults with
        {
            MaxBytes = Size(v, "outbox-max-bytes") ?? defaults.MaxBytes,
            MaxAge = Duration(v, "outbox-max-age") ?? defaults.MaxAge,
            CommitInterval = Duration(v, "outbox-commit-interval") ?? defaults.CommitInterval,
            SegmentBytes = Size(v, "outbox-segment-bytes") ?? defaults.SegmentBytes,
            IngestCapacity = Int(v, "outbox-ingest-capacity") ?? defaults.IngestCapacity,
            Reads = defaults.Reads with { MaxBatchRecords = Int(v, "outbox-reads-batch-records") ?? defaults.Reads.MaxBatchRecords },
            Presence = defaults.Presence with { MaxBatchRecords = Int(v, "outbox-presence-batch-records") ?? defaults.Presence.MaxBatchRecords },
        };
        outbox.Validate();

        var u = new UplinkOptions { GatewayId = gateway, Broker = broker };
        var uplink = u with
        {
            Username = Last(v, "broker-username"),
            Password = Last(v, "broker-password"),
            CaFile = Last(v, "broker-ca"),
            ClientCertFile = Last(v, "client-cert"),
            ClientKeyFile = Last(v, "client-key"),
            BandwidthBytesPerSecond = Size(v, "uplink-bandwidth"),
            MaxInflight = Int(v, "uplink-inflight") ?? u.MaxInflight,
            KeepAlive = Duration(v, "uplink-keepalive") ?? u.KeepAlive,
            Timeout = Duration(v, "uplink-timeout") ?? u.Timeout,
            StatusInterval = Duration(v, "uplink-status-interval") ?? u.StatusInterval,
            RetryMinDelay = Duration(v, "uplink-retry-min") ?? u.RetryMinDelay,
            RetryMaxDelay = Duration(v, "uplink-retry-max") ?? u.RetryMaxDelay,
            BreakerFailures = Int(v, "uplink-breaker-failures") ?? u.BreakerFailures,
            BreakDuration = Duration(v, "uplink-breaker-duration") ?? u.BreakDuration,
        };
        uplink.Validate();

        var httpText = Last(v, "http") ?? "127.0.0.1:9464";
        if (!IPEndPoint.TryParse(httpText, out var http) || http.Port is < 0 or > 65535)
        {
            throw new OptionsException("http", $"'{httpText}' is not address:port.");
        }

        if (!IPAddress.IsLoopback(http.Address))
        {
            throw new OptionsException("http", $"{http.Address} is not a loopback address: /healthz and /metrics carry no authentication and stay on the gateway (use 127.0.0.1 or [::1]).");
        }

        var dataDir = Last(v, "data-dir") ?? "/var/lib/edgestream";
        if (dataDir.Length == 0)
        {
            throw new OptionsException("data-dir", "must not be empty.");
        }

        return new EdgeOptions
        {
            GatewayId = gateway,
            Readers = readers,
            DataDir = dataDir,
            Http = http,
            Outbox = outbox,
            Uplink = uplink,
        };
    }

    private static Dictionary<string, List<string>> ParseArgs(IReadOnlyList<string> args)
    {
        var d = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                throw new OptionsException(a, $"unexpected argument '{a}': options are --key value (see --help).");
            }

            string key, value;
            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                key = a[2..eq];
                value = a[(eq + 1)..];
            }
            else
            {
                key = a[2..];
                if (i + 1 >= args.Count)
                {
                    throw new OptionsException(key, "needs a value.");
                }

                value = args[++i];
            }

            Add(d, key, value, "command line");
        }

        return d;
    }

    private static Dictionary<string, List<string>> ParseEnvironment(IReadOnlyDictionary<string, string?> environment)
    {
        var d = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, value) in environment)
        {
            if (!name.StartsWith(EnvPrefix, StringComparison.Ordinal) || value is null)
            {
                continue;
            }

            var key = name[EnvPrefix.Length..].ToLowerInvariant().Replace('_', '-');
            if (key == "reader")
            {
                foreach (var r in value.Split([';', ' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    Add(d, key, r, "environment");
                }
            }
            else
            {
                Add(d, key, value, "environment variable " + name);
            }
        }

        return d;
    }

    private static Dictionary<string, List<string>> ParseFile(string path)
    {
        var d = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new OptionsException("config", $"cannot read '{path}': {ex.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new OptionsException("config", $"'{path}' must hold a JSON object of key: value.");
            }

            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "config")
                {
                    throw new OptionsException("config", "a config file cannot name another config file.");
                }

                if (p.Name == WindowingKey)
                {
                    if (p.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new OptionsException(WindowingKey, $"in '{path}' must be a JSON object (docs/windowing.md).");
                    }

                    d[WindowingKey] = [path];
                    continue;
                }

                var values = p.Value.ValueKind == JsonValueKind.Array ? p.Value.EnumerateArray().ToList() : [p.Value];
                foreach (var e in values)
                {
                    var text = e.ValueKind switch
                    {
                        JsonValueKind.String => e.GetString()!,
                        JsonValueKind.Number => e.GetRawText(),
                        _ => throw new OptionsException(p.Name, $"in '{path}' must be a string or a number."),
                    };
                    Add(d, p.Name, text, path);
                }
            }
        }

        return d;
    }

    private static void Add(Dictionary<string, List<string>> d, string key, string value, string source)
    {
        if (!Keys.ContainsKey(key))
        {
            throw new OptionsException(key, $"unknown key (from {source}). Known keys: {string.Join(", ", Keys.Keys)}.");
        }

        if (!d.TryGetValue(key, out var list))
        {
            d[key] = list = [];
        }

        if (key != "reader")
        {
            list.Clear();
        }

        list.Add(value);
    }

    private static string? Last(Dictionary<string, List<string>> d, string key) =>
        d.TryGetValue(key, out var l) && l.Count > 0 ? l[^1] : null;

    private static string Required(Dictionary<string, List<string>> d, string key) =>
        Last(d, key) is { Length: > 0 } s ? s : throw new OptionsException(key, $"is required (--{key}, {EnvPrefix}{key.ToUpperInvariant().Replace('-', '_')} or \"{key}\" in the config file).");

    private static int? Int(Dictionary<string, List<string>> d, string key)
    {
        var s = Last(d, key);
        if (s is null)
        {
            return null;
        }

        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new OptionsException(key, $"'{s}' is not a whole number.");
    }

    /// <summary>Parses 1048576, 512KB, 16MB, 2GB (also KiB/MiB/GiB; all powers of 1024).</summary>
    private static long? Size(Dictionary<string, List<string>> d, string key)
    {
        var s = Last(d, key);
        if (s is null)
        {
            return null;
        }

        var t = s.Trim();
        long mult = 1;
        foreach (var (suffix, m) in new[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("B", 1L) })
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                mult = m;
                t = t[..^suffix.Length].Trim();
                break;
            }
        }

        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0 || n * mult > long.MaxValue)
        {
            throw new OptionsException(key, $"'{s}' is not a size (e.g. 1048576, 512KB, 16MB, 2GB).");
        }

        return (long)(n * mult);
    }

    /// <summary>Parses 250ms, 30s, 5m, 2h, 14d, or a .NET TimeSpan (00:00:30).</summary>
    private static TimeSpan? Duration(Dictionary<string, List<string>> d, string key)
    {
        var s = Last(d, key);
        if (s is null)
        {
            return null;
        }

        var t = s.Trim();
        foreach (var (suffix, unit) in new[] { ("ms", TimeSpan.FromMilliseconds(1)), ("s", TimeSpan.FromSeconds(1)), ("m", TimeSpan.FromMinutes(1)), ("h", TimeSpan.FromHours(1)), ("d", TimeSpan.FromDays(1)) })
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
            {
                return unit * n;
            }
        }

        return TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out var ts) && ts >= TimeSpan.Zero
            ? ts
            : throw new OptionsException(key, $"'{s}' is not a duration (e.g. 250ms, 30s, 5m, 2h, 14d).");
    }
}
