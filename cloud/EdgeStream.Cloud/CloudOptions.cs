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

    /// <summary>
    /// Base URLs of the ingest processes (<c>--ingest-nodes http://ingest-1:8080,http://ingest-2:8080</c>).
    /// A process without ingest (the <c>api</c> role) answers <c>GET /api/gateways</c> by merging theirs:
    /// the gateways are connected to them, not to it.
    /// </summary>
    public IReadOnlyList<Uri> IngestNodes { get; init; } = [];

    /// <summary>External broker to ingest from instead of the embedded one, e.g. <c>mqtt://user:pass@host:1883</c>.</summary>
    public string? Broker { get; init; }

    /// <summary>Which event log runs (section <c>EventLog</c>); the embedded one in <see cref="DataDir"/> by default.</summary>
    public EdgeStream.EventLog.Kafka.EventLogSettings EventLog { get; init; } = new();

    /// <summary>What this process runs (<c>--role</c>): everything by default, or one part for scale-out.</summary>
    public CloudRole Role { get; init; } = CloudRole.All;

    /// <summary>Where tracking is stored (section <c>Tracking</c>).</summary>
    public TrackingSettings Tracking { get; init; } = new();

    /// <summary>How alerts escalate (section <c>Alerts</c>).</summary>
    public AlertSettings Alerts { get; init; } = new();

    /// <summary>Where alert notifications go (section <c>Notifications</c>): webhooks and an MQTT topic.</summary>
    public NotificationSettings Notifications { get; init; } = new();

    /// <summary>How the engine runs the tracking job (section <c>Engine</c>).</summary>
    public EdgeStream.Engine.EngineOptions Engine { get; init; } = TrackingSettings.DefaultEngine;

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

        var ingestNodes = new List<Uri>();
        foreach (var node in (configuration["ingest-nodes"] ?? section["IngestNodes"] ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(node, UriKind.Absolute, out var nodeUri) || nodeUri.Scheme is not ("http" or "https"))
            {
                throw new OptionsException("ingest-nodes", node, "http[s]://host:port of an ingest process, comma-separated");
            }

            ingestNodes.Add(nodeUri);
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

        var roleText = configuration["role"] ?? section["Role"] ?? "all";
        var role = roleText.Trim().ToLowerInvariant() switch
        {
            "all" => CloudRole.All,
            "ingest" => CloudRole.Ingest,
            "stream" => CloudRole.Stream,
            "api" => CloudRole.Api,
            _ => throw new OptionsException("role", roleText, "all, ingest, stream or api"),
        };

        var tracking = TrackingSettings.From(configuration.GetSection("Tracking"), configuration["database"], Path.GetFullPath(dataDir), configuration["workflows"], configuration["rules"]);
        EdgeStream.Engine.EngineOptions engine;
        try
        {
            engine = TrackingSettings.BindEngine(configuration.GetSection("Engine")).Validate();
        }
        catch (ArgumentException ex)
        {
            throw new OptionsException(ex.Message);
        }

        if (role != CloudRole.All && tracking.Database == "sqlite")
        {
            throw new OptionsException("role", roleText, "all while Tracking:Database is sqlite: separate processes share the database, so --role ingest|stream|api needs Tracking:Database postgres");
        }

        if (role is CloudRole.Ingest or CloudRole.Stream && eventLog.Kind == "embedded")
        {
            throw new OptionsException("role", roleText, "all while the event log is embedded: ingest and stream workers in separate processes share the log through Kafka (EventLog:Kind kafka)");
        }

        return new CloudOptions
        {
            Role = role,
            Tracking = tracking,
            Alerts = AlertSettings.From(configuration.GetSection("Alerts")),
            Notifications = NotificationSettings.From(configuration.GetSection("Notifications")),
            Engine = engine,
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
            IngestNodes = ingestNodes,
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
            CreateTopic = s["CreateTopic"] is { } c ? bool.Parse(c) : o.CreateTopic,
            LingerMs = s["LingerMs"] is { } l ? int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : o.LingerMs,
            SessionTimeoutMs = s["SessionTimeoutMs"] is { } st ? int.Parse(st, System.Globalization.CultureInfo.InvariantCulture) : o.SessionTimeoutMs,
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

/// <summary>What one cloud process runs.</summary>
public enum CloudRole
{
    /// <summary>Ingest, the tracking job and the API in one process (the default; needs nothing installed).</summary>
    All,

    /// <summary>The MQTT broker (or external-broker subscriber) and the ingest pipeline into the log.</summary>
    Ingest,

    /// <summary>A stream worker: the tracking job on the engine, sharing the log's partitions with the other workers.</summary>
    Stream,

    /// <summary>The HTTP API and portal, reading the database.</summary>
    Api,
}

/// <summary>How alerts escalate (section <c>Alerts</c>): level n+1 when level n has not acknowledged within <see cref="EscalateAfter"/>.</summary>
public sealed record AlertSettings
{
    /// <summary>How long a level has to acknowledge before the next is called.</summary>
    public TimeSpan EscalateAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Levels in the chain (1: no escalation).</summary>
    public int Levels { get; init; } = 3;

    /// <summary>Binds and validates; throws <see cref="OptionsException"/> naming the bad key.</summary>
    public static AlertSettings From(IConfigurationSection s)
    {
        var after = TimeSpan.FromMinutes(10);
        if (s["EscalateAfter"] is { } a && (!TimeSpan.TryParse(a, System.Globalization.CultureInfo.InvariantCulture, out after) || after < TimeSpan.FromSeconds(10)))
        {
            throw new OptionsException("Alerts:EscalateAfter", a, "a time span of at least 00:00:10, e.g. 00:10:00");
        }

        var levels = 3;
        if (s["Levels"] is { } l && (!int.TryParse(l, System.Globalization.CultureInfo.InvariantCulture, out levels) || levels is < 1 or > 10))
        {
            throw new OptionsException("Alerts:Levels", l, "a whole number from 1 to 10");
        }

        return new AlertSettings { EscalateAfter = after, Levels = levels };
    }
}

/// <summary>
/// Where alert notifications go (section <c>Notifications</c>): webhooks (<c>Webhooks:N:Name</c>, <c>:Url</c>,
/// <c>:Secret</c>) and an MQTT topic (<c>Mqtt:Broker</c>, <c>Mqtt:Topic</c>). Each is a channel with its own
/// delivery cursor; a notification is retried with growing, jittered delays up to <see cref="MaxRetryDelay"/>
/// apart, and dead-lettered when it is still undelivered <see cref="DeadLetterAfter"/> after it was written.
/// </summary>
public sealed record NotificationSettings
{
    /// <summary>The webhook receivers.</summary>
    public IReadOnlyList<WebhookSettings> Webhooks { get; init; } = [];

    /// <summary>The broker notifications are published to (<c>mqtt://user:pass@host:port</c>), or null for none.</summary>
    public string? MqttBroker { get; init; }

    /// <summary>The MQTT topic prefix: each notification goes to <c>{prefix}/{asset}</c>.</summary>
    public string MqttTopic { get; init; } = "edgestream/alerts";

    /// <summary>The longest wait between two attempts at one notification.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long after it was written a notification is still retried before it goes to the dead letters.</summary>
    public TimeSpan DeadLetterAfter { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long one attempt may take.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Binds and validates; throws <see cref="OptionsException"/> naming the bad key.</summary>
    public static NotificationSettings From(IConfigurationSection s)
    {
        var hooks = new List<WebhookSettings>();
        foreach (var h in s.GetSection("Webhooks").GetChildren())
        {
            var key = $"Notifications:Webhooks:{h.Key}";
            var url = h["Url"];
            if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new OptionsException(key + ":Url", url ?? "(none)", "an http:// or https:// URL");
            }

            var name = h["Name"] ?? "webhook-" + h.Key;
            if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z0-9][a-z0-9-]{0,63}$"))
            {
                throw new OptionsException(key + ":Name", name, "a name of lower-case letters, digits and '-'");
            }

            var secret = h["Secret"];
            if (string.IsNullOrEmpty(secret) || secret.Length < 16)
            {
                throw new OptionsException(key + ":Secret", secret is null ? "(none)" : "(hidden)", "a shared secret of at least 16 characters, which signs each request (HMAC-SHA256)");
            }

            if (hooks.Any(x => x.Name == name))
            {
                throw new OptionsException(key + ":Name", name, "a name no other webhook has");
            }

            hooks.Add(new WebhookSettings(name, uri, secret));
        }

        var broker = s["Mqtt:Broker"];
        if (broker is not null && !(Uri.TryCreate(broker, UriKind.Absolute, out var b) && b.Scheme is "mqtt" or "mqtts"))
        {
            throw new OptionsException("Notifications:Mqtt:Broker", broker, "an mqtt:// or mqtts:// URL, e.g. mqtt://user:pass@host:1883");
        }

        var topic = s["Mqtt:Topic"] ?? "edgestream/alerts";
        if (topic.Length == 0 || topic.IndexOfAny(['+', '#']) >= 0 || topic.EndsWith('/'))
        {
            throw new OptionsException("Notifications:Mqtt:Topic", topic, "a topic prefix without wildcards or a trailing '/'");
        }

        return new NotificationSettings
        {
            Webhooks = hooks,
            MqttBroker = broker,
            MqttTopic = topic,
            MaxRetryDelay = Span(s, "MaxRetryDelay", TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(10)),
            DeadLetterAfter = Span(s, "DeadLetterAfter", TimeSpan.FromDays(1), TimeSpan.FromSeconds(1)),
            AttemptTimeout = Span(s, "AttemptTimeout", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100)),
        };
    }

    private static TimeSpan Span(IConfigurationSection s, string key, TimeSpan fallback, TimeSpan least)
    {
        if (s[key] is not { } text)
        {
            return fallback;
        }

        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= least
            ? v
            : throw new OptionsException("Notifications:" + key, text, $"a time span of at least {least:c}");
    }
}

/// <summary>One webhook receiver: its channel name, where requests go, and the secret that signs them.</summary>
public sealed record WebhookSettings(string Name, Uri Url, string Secret);

/// <summary>Where tracking is stored and how its outputs are written (section <c>Tracking</c>).</summary>
public sealed record TrackingSettings
{
    /// <summary>
    /// The engine's defaults for the tracking job. No out-of-orderness bound: edge windowing emits each
    /// gateway's presence events in event-time order (one sweep over its reorder buffer), so a gateway's
    /// own watermark is its newest event, and the engine's watermark (the least over active gateways) only
    /// waits for the others. A gateway silent for 300 ms stops holding them back. Whatever still comes
    /// out of order (raw reads, a gateway returning from idleness or an outage) is placed by the job's
    /// rules, which do not depend on the order (docs/tracking.md).
    /// </summary>
    public static EdgeStream.Engine.EngineOptions DefaultEngine { get; } = new()
    {
        OutOfOrdernessUs = 0,
        AllowedLatenessUs = 60_000_000,
        IdleTimeout = TimeSpan.FromMilliseconds(300),
        CheckpointInterval = TimeSpan.FromSeconds(10),
    };

    /// <summary><c>sqlite</c> (the embedded default, a file in the data folder) or <c>postgres</c>.</summary>
    public string Database { get; init; } = "sqlite";

    /// <summary>The PostgreSQL connection string (Npgsql form), or the SQLite file's path.</summary>
    public string ConnectionString { get; init; } = string.Empty;

    /// <summary>How long history is kept; older closed intervals are deleted (PostgreSQL drops whole months).</summary>
    public TimeSpan HistoryRetention { get; init; } = TimeSpan.FromDays(90);

    /// <summary>Longest time an output of the job waits before it is written to the database.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Where the job's checkpoints go: <c>file</c> (the data folder, for one machine) or <c>postgres</c>
    /// (a table every stream worker reaches, in the tracking database). The default follows the database.
    /// </summary>
    public string Checkpoints { get; init; } = "file";

    /// <summary>The consumer group the stream workers of one deployment share (a second deployment on the same log takes its own).</summary>
    public string GroupId { get; init; } = "edgestream-tracking";

    /// <summary>A folder of workflow definitions (<c>*.json</c>) stored at start when their version is new (<c>Tracking:Workflows</c>, <c>--workflows</c>); null for none.</summary>
    public string? WorkflowsFolder { get; init; }

    /// <summary>A folder of rule definitions (<c>*.json</c>) stored at start when their version is new (<c>Tracking:Rules</c>, <c>--rules</c>); null for none.</summary>
    public string? RulesFolder { get; init; }

    /// <summary>Binds and validates; throws <see cref="OptionsException"/> naming the bad key.</summary>
    public static TrackingSettings From(IConfigurationSection s, string? database, string dataDir, string? workflows = null, string? rules = null)
    {
        workflows ??= s["Workflows"];
        if (workflows is not null && !Directory.Exists(workflows))
        {
            throw new OptionsException("Tracking:Workflows", workflows, "a folder that exists, holding workflow definitions (*.json)");
        }

        rules ??= s["Rules"];
        if (rules is not null && !Directory.Exists(rules))
        {
            throw new OptionsException("Tracking:Rules", rules, "a folder that exists, holding rule definitions (*.json)");
        }

        var kind = (database ?? s["Database"] ?? "sqlite").Trim().ToLowerInvariant();
        if (kind is not ("sqlite" or "postgres"))
        {
            throw new OptionsException("Tracking:Database", kind, "sqlite or postgres");
        }

        var cs = s["ConnectionString"];
        if (kind == "postgres" && string.IsNullOrWhiteSpace(cs))
        {
            throw new OptionsException("Tracking:ConnectionString", "(missing)", "an Npgsql connection string such as Host=db;Database=edgestream;Username=edgestream;Password=…");
        }

        var retention = TimeSpan.FromDays(90);
        if (s["HistoryRetention"] is { } rt && (!TimeSpan.TryParse(rt, System.Globalization.CultureInfo.InvariantCulture, out retention) || retention < TimeSpan.FromHours(1)))
        {
            throw new OptionsException("Tracking:HistoryRetention", rt, "a time span of at least 01:00:00, e.g. 90.00:00:00");
        }

        var flush = TimeSpan.FromMilliseconds(100);
        if (s["FlushInterval"] is { } fi && (!TimeSpan.TryParse(fi, System.Globalization.CultureInfo.InvariantCulture, out flush) || flush <= TimeSpan.Zero || flush > TimeSpan.FromSeconds(10)))
        {
            throw new OptionsException("Tracking:FlushInterval", fi, "a time span above 0 up to 00:00:10");
        }

        var checkpoints = (s["Checkpoints"] ?? (kind == "postgres" ? "postgres" : "file")).Trim().ToLowerInvariant();
        if (checkpoints is not ("file" or "postgres"))
        {
            throw new OptionsException("Tracking:Checkpoints", checkpoints, "file or postgres");
        }

        if (checkpoints == "postgres" && kind != "postgres")
        {
            throw new OptionsException("Tracking:Checkpoints", checkpoints, "file while Tracking:Database is sqlite: the checkpoint table lives in the PostgreSQL tracking database");
        }

        var group = s["GroupId"] ?? "edgestream-tracking";
        if (string.IsNullOrWhiteSpace(group) || group.Length > 200)
        {
            throw new OptionsException("Tracking:GroupId", group, "a consumer group name of 1 to 200 characters");
        }

        return new TrackingSettings
        {
            Checkpoints = checkpoints,
            GroupId = group,
            Database = kind,
            ConnectionString = kind == "sqlite" ? Path.GetFullPath(cs ?? Path.Combine(dataDir, "tracking.db")) : cs!,
            HistoryRetention = retention,
            FlushInterval = flush,
            WorkflowsFolder = workflows is null ? null : Path.GetFullPath(workflows),
            RulesFolder = rules is null ? null : Path.GetFullPath(rules),
        };
    }

    /// <summary>The engine's options from section <c>Engine</c>, over the tracking defaults.</summary>
    public static EdgeStream.Engine.EngineOptions BindEngine(IConfigurationSection s)
    {
        var o = DefaultEngine;
        long Us(string key, long fallback) => s[key] is { } v
            ? long.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : throw new OptionsException("Engine:" + key, v, "a whole number of microseconds")
            : fallback;
        TimeSpan Span(string key, TimeSpan fallback) => s[key] is { } v
            ? TimeSpan.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var t) ? t : throw new OptionsException("Engine:" + key, v, "a time span such as 00:00:01")
            : fallback;
        return o with
        {
            OutOfOrdernessUs = Us(nameof(o.OutOfOrdernessUs), o.OutOfOrdernessUs),
            AllowedLatenessUs = Us(nameof(o.AllowedLatenessUs), o.AllowedLatenessUs),
            IdleTimeout = Span(nameof(o.IdleTimeout), o.IdleTimeout),
            CheckpointInterval = Span(nameof(o.CheckpointInterval), o.CheckpointInterval),
        };
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
