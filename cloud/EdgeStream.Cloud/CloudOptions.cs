using System.Net;
using Microsoft.Extensions.Configuration;

namespace EdgeStream.Cloud;

/// <summary>
/// The cloud service's settings, bound from command line (<c>--mqtt</c>, <c>--data-dir</c>), environment
/// (<c>EDGESTREAM_CLOUD__MQTT</c>, …) and <c>appsettings.json</c> section <c>Cloud</c>; HTTP addresses
/// come from the host's standard <c>--urls</c> (default <c>http://127.0.0.1:8080</c>).
/// </summary>
public sealed record CloudOptions
{
    /// <summary>Default portal and API address.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>Default MQTT listener of the embedded broker.</summary>
    public const string DefaultMqtt = "127.0.0.1:1883";

    /// <summary>HTTP listen addresses (semicolon-separated), e.g. <c>http://127.0.0.1:0</c>.</summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>Embedded MQTT broker listen endpoint <c>host:port</c> (port 0 picks a free port).</summary>
    public string Mqtt { get; init; } = DefaultMqtt;

    /// <summary>Folder for durable state; created if absent.</summary>
    public string DataDir { get; init; } = Path.Combine(Environment.CurrentDirectory, "cloud-data");

    /// <summary>A gateway counts as offline when silent this long, even without a will message.</summary>
    public TimeSpan GatewayTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gateway credentials file (<c>{"gateways":[{"gatewayId":…,"passwordHash":…}]}</c>; hashes from
    /// <c>edgestream-cloud hash-password</c>). Without it no gateway can connect to the embedded broker.
    /// </summary>
    public string? GatewaysFile { get; init; }

    /// <summary>External broker to ingest from instead of the embedded one, e.g. <c>mqtt://user:pass@host:1883</c>.</summary>
    public string? Broker { get; init; }

    /// <summary>Which event log runs (section <c>EventLog</c>); the embedded one in <see cref="DataDir"/> by default.</summary>
    public EdgeStream.EventLog.Kafka.EventLogSettings EventLog { get; init; } = new();

    /// <summary>MQTT over TLS listener <c>host:port</c> of the embedded broker, or null for none.</summary>
    public IPEndPoint? MqttsEndpoint { get; private init; }

    /// <summary>Server certificate for <see cref="MqttsEndpoint"/>: PKCS#12, or PEM with <see cref="MqttsKey"/>.</summary>
    public string? MqttsCertificate { get; private init; }

    /// <summary>PEM private key of <see cref="MqttsCertificate"/>.</summary>
    public string? MqttsKey { get; private init; }

    /// <summary>Password of a PKCS#12 <see cref="MqttsCertificate"/>.</summary>
    public string? MqttsCertificatePassword { get; private init; }

    /// <summary>False when <c>--mqtt off</c>: only the TLS listener takes gateways.</summary>
    public bool PlainMqtt { get; private init; } = true;

    /// <summary>Parsed HTTP endpoints.</summary>
    public IReadOnlyList<IPEndPoint> HttpEndpoints { get; private init; } = [];

    /// <summary>Parsed MQTT endpoint.</summary>
    public IPEndPoint MqttEndpoint { get; private init; } = new(IPAddress.Loopback, 1883);

    /// <summary>Binds and validates; throws <see cref="OptionsException"/> naming the bad key and what is allowed.</summary>
    public static CloudOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Cloud");
        var urls = configuration["urls"] ?? DefaultUrls;
        var mqtt = configuration["mqtt"] ?? section["Mqtt"] ?? DefaultMqtt;
        var dataDir = configuration["data-dir"] ?? section["DataDir"] ?? Path.Combine(Environment.CurrentDirectory, "cloud-data");
        var timeoutText = configuration["gateway-timeout"] ?? section["GatewayTimeout"];
        var gatewaysFile = configuration["gateways"] ?? section["GatewaysFile"];
        var broker = configuration["broker"] ?? section["Broker"];
        if (gatewaysFile is not null && !File.Exists(gatewaysFile))
        {
            throw new OptionsException("gateways", gatewaysFile, "the path of an existing gateway credentials JSON file");
        }

        if (broker is not null && !(Uri.TryCreate(broker, UriKind.Absolute, out var brokerUri) && brokerUri.Scheme is "mqtt" or "mqtts"))
        {
            throw new OptionsException("broker", broker, "mqtt[s]://[user:pass@]host:port");
        }

        var logSection = configuration.GetSection("EventLog");
        var kind = logSection["Kind"] ?? "embedded";
        EdgeStream.EventLog.Kafka.EventLogSettings eventLog;
        try
        {
            eventLog = kind.Trim().ToLowerInvariant() switch
            {
                "embedded" => new() { Kind = "embedded", Embedded = BindEmbedded(logSection.GetSection("Embedded"), Path.Combine(Path.GetFullPath(dataDir), "log")) },
                "kafka" => new() { Kind = "kafka", Kafka = BindKafka(logSection.GetSection("Kafka")) },
                _ => throw new OptionsException("EventLog:Kind", kind, "embedded or kafka"),
            };
        }
        catch (FormatException ex)
        {
            throw new OptionsException("EventLog", ex.Message, "numbers where numbers are expected");
        }

        var http = new List<IPEndPoint>();
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "http" || !TryEndpoint(uri.Host, uri.Port, out var ep))
            {
                throw new OptionsException("urls", url, "http://ADDRESS:PORT with an IP address or localhost, e.g. http://127.0.0.1:8080 (port 0 picks a free port)");
            }

            http.Add(ep);
        }

        if (http.Count == 0)
        {
            throw new OptionsException("urls", urls, "at least one http://ADDRESS:PORT");
        }

        var plain = mqtt != "off";
        var mqttEp = new IPEndPoint(IPAddress.Loopback, 0);
        if (plain && !TryHostPort(mqtt, out mqttEp))
        {
            throw new OptionsException("mqtt", mqtt, "ADDRESS:PORT, e.g. 127.0.0.1:1883 or 0.0.0.0:1883 (port 0 picks a free port), or off");
        }

        var mqtts = configuration["mqtts"] ?? section["Mqtts"];
        IPEndPoint? mqttsEp = null;
        var mqttsCert = configuration["mqtts-cert"] ?? section["MqttsCertificate"];
        if (mqtts is not null)
        {
            if (!TryHostPort(mqtts, out var ep))
            {
                throw new OptionsException("mqtts", mqtts, "ADDRESS:PORT, e.g. 0.0.0.0:8883");
            }

            if (mqttsCert is null || !File.Exists(mqttsCert))
            {
                throw new OptionsException("mqtts-cert", mqttsCert ?? "(missing)", "the server certificate file (PKCS#12, or PEM with --mqtts-key) for the TLS listener");
            }

            mqttsEp = ep;
        }
        else if (!plain)
        {
            throw new OptionsException("mqtt", mqtt, "a listener: 'off' needs --mqtts for gateways to connect at all");
        }

        var timeout = TimeSpan.FromSeconds(60);
        if (timeoutText is not null && (!TimeSpan.TryParse(timeoutText, out timeout) || timeout <= TimeSpan.Zero))
        {
            throw new OptionsException("gateway-timeout", timeoutText, "a positive time span such as 00:01:00");
        }

        return new CloudOptions
        {
            Urls = urls,
            Mqtt = mqtt,
            DataDir = Path.GetFullPath(dataDir),
            GatewayTimeout = timeout,
            HttpEndpoints = http,
            MqttEndpoint = mqttEp,
            PlainMqtt = plain,
            MqttsEndpoint = mqttsEp,
            MqttsCertificate = mqttsCert is null ? null : Path.GetFullPath(mqttsCert),
            MqttsKey = configuration["mqtts-key"] ?? section["MqttsKey"],
            MqttsCertificatePassword = configuration["mqtts-cert-password"] ?? section["MqttsCertificatePassword"],
            GatewaysFile = gatewaysFile is null ? null : Path.GetFullPath(gatewaysFile),
            Broker = broker,
            EventLog = eventLog,
        };
    }

    private static EdgeStream.EventLog.Embedded.EmbeddedLogOptions BindEmbedded(IConfigurationSection s, string defaultDirectory)
    {
        var o = new EdgeStream.EventLog.Embedded.EmbeddedLogOptions { Directory = s["Directory"] ?? defaultDirectory };
        return o with
        {
            Partitions = s["Partitions"] is { } p ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : o.Partitions,
            RetentionTime = s["RetentionTime"] is { } rt ? TimeSpan.Parse(rt, System.Globalization.CultureInfo.InvariantCulture) : o.RetentionTime,
        };
    }

    private static EdgeStream.EventLog.Kafka.KafkaLogOptions BindKafka(IConfigurationSection s)
    {
        var o = new EdgeStream.EventLog.Kafka.KafkaLogOptions
        {
            BootstrapServers = s["BootstrapServers"] ?? throw new OptionsException("EventLog:Kafka:BootstrapServers", "(missing)", "host:port[,host:port…] of the Kafka cluster"),
        };
        return o with
        {
            Topic = s["Topic"] ?? o.Topic,
            Partitions = s["Partitions"] is { } p ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : o.Partitions,
            ReplicationFactor = s["ReplicationFactor"] is { } r ? short.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : o.ReplicationFactor,
        };
    }

    private static bool TryHostPort(string text, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        var colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), out var port) && TryEndpoint(text[..colon], port, out endpoint);
    }

    private static bool TryEndpoint(string host, int port, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        if (port is < 0 or > 65535)
        {
            return false;
        }

        host = host.Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            endpoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }

        if (host is "*" or "+")
        {
            endpoint = new IPEndPoint(IPAddress.Any, port);
            return true;
        }

        if (IPAddress.TryParse(host, out var ip))
        {
            endpoint = new IPEndPoint(ip, port);
            return true;
        }

        return false;
    }
}

/// <summary>A configuration value that stops start-up; the message names the key, the value and what is allowed.</summary>
public sealed class OptionsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OptionsException(string key, string value, string allowed)
        : base($"Configuration key '{key}' has the value '{value}', which is not valid: expected {allowed}.")
    {
        Key = key;
    }

    /// <summary>Creates the exception.</summary>
    public OptionsException()
    {
        Key = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    public OptionsException(string message)
        : base(message)
    {
        Key = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    public OptionsException(string message, Exception innerException)
        : base(message, innerException)
    {
        Key = string.Empty;
    }

    /// <summary>The configuration key at fault.</summary>
    public string Key { get; }
}
