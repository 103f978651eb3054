using EdgeStream.Contracts;
using EdgeStream.Outbox;

namespace EdgeStream.Uplink.Mqtt;

/// <summary>
/// Settings of the MQTT uplink. Defaults live here; <see cref="Validate"/> names the configuration
/// key of anything out of range.
/// </summary>
public sealed record UplinkOptions
{
    /// <summary>The gateway (topics, client id, batch stamps).</summary>
    public required string GatewayId { get; init; }

    /// <summary><c>mqtt://[user:pass@]host:port</c> or <c>mqtts://…</c> (TLS). Key <c>broker</c>.</summary>
    public required Uri Broker { get; init; }

    /// <summary>Overrides the user name in <see cref="Broker"/>. Key <c>broker-username</c>.</summary>
    public string? Username { get; init; }

    /// <summary>Overrides the password in <see cref="Broker"/>. Key <c>broker-password</c>.</summary>
    public string? Password { get; init; }

    /// <summary>PEM file of the CA that signed the broker's certificate (mqtts only; default: the system's roots). Key <c>broker-ca</c>.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate for mutual TLS. Key <c>client-cert</c>.</summary>
    public string? ClientCertFile { get; init; }

    /// <summary>PEM private key of <see cref="ClientCertFile"/>. Key <c>client-key</c>.</summary>
    public string? ClientKeyFile { get; init; }

    /// <summary>MQTT client id; the persistent session is keyed by it. Default <c>edgestream-{gateway}</c>.</summary>
    public string? ClientId { get; init; }

    /// <summary>MQTT keep-alive: a link silent for 1.5 × this is declared dead. Key <c>uplink-keepalive</c>.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the broker keeps the session after a disconnect. Key <c>uplink-session-expiry</c>.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How often a connected gateway repeats its retained status (buffer levels and its clock, which the
    /// cloud's clock-skew estimate needs fresh: a status older than the cloud's skew window no longer
    /// counts). Key <c>uplink-status-interval</c>.
    /// </summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest wait for a connect or a PUBACK before the link is declared stalled. Key <c>uplink-timeout</c>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Batches published and not yet acknowledged at most. Key <c>uplink-inflight</c>.</summary>
    public int MaxInflight { get; init; } = 16;

    /// <summary>Upload cap in payload bytes per second; null for none. Key <c>uplink-bandwidth</c>.</summary>
    public long? BandwidthBytesPerSecond { get; init; }

    /// <summary>First reconnect delay (then exponential with jitter). Key <c>uplink-retry-min</c>.</summary>
    public TimeSpan RetryMinDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest reconnect delay. Key <c>uplink-retry-max</c>.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>After this many failed connects in a row, stop trying for <see cref="BreakDuration"/>. Key <c>uplink-breaker-failures</c>.</summary>
    public int BreakerFailures { get; init; } = 5;

    /// <summary>How long the circuit stays open. Key <c>uplink-breaker-duration</c>.</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Effective client id.</summary>
    public string EffectiveClientId => ClientId ?? GatewayId;

    /// <summary>True for mqtts.</summary>
    public bool UseTls => string.Equals(Broker.Scheme, "mqtts", StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws <see cref="OptionsException"/> naming the first key out of range.</summary>
    public void Validate()
    {
        if (!Topics.IsValidGatewayId(GatewayId))
        {
            throw new OptionsException("gateway-id", $"'{GatewayId}' is not a valid gateway id.");
        }

        if (!Broker.IsAbsoluteUri || Broker.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(Broker.Host))
        {
            throw new OptionsException("broker", $"'{Broker}' is not mqtt://[user:pass@]host:port or mqtts://[user:pass@]host:port.");
        }

        if (!UseTls && (CaFile is not null || ClientCertFile is not null))
        {
            throw new OptionsException("broker", "broker-ca and client-cert need an mqtts:// broker.");
        }

        foreach (var (key, file) in new[] { ("broker-ca", CaFile), ("client-cert", ClientCertFile), ("client-key", ClientKeyFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                throw new OptionsException(key, $"file '{file}' does not exist.");
            }
        }

        if ((ClientCertFile is null) != (ClientKeyFile is null))
        {
            throw new OptionsException(ClientCertFile is null ? "client-cert" : "client-key", "client-cert and client-key go together.");
        }

        if (KeepAlive < TimeSpan.FromSeconds(1) || KeepAlive > TimeSpan.FromHours(1))
        {
            throw new OptionsException("uplink-keepalive", $"{KeepAlive} is outside 1 s..1 h.");
        }

        if (StatusInterval < TimeSpan.FromSeconds(1) || StatusInterval > TimeSpan.FromMinutes(5))
        {
            throw new OptionsException("uplink-status-interval", $"{StatusInterval} is outside 1 s..5 min (the cloud measures clocks over 10 minutes).");
        }

        if (Timeout < TimeSpan.FromSeconds(1))
        {
            throw new OptionsException("uplink-timeout", $"{Timeout} is shorter than 1 s.");
        }

        if (MaxInflight is < 1 or > 1000)
        {
            throw new OptionsException("uplink-inflight", $"{MaxInflight} is outside 1..1000.");
        }

        if (BandwidthBytesPerSecond is < 1024)
        {
            throw new OptionsException("uplink-bandwidth", $"{BandwidthBytesPerSecond} bytes/s is below 1024.");
        }

        if (RetryMinDelay <= TimeSpan.Zero || RetryMaxDelay < RetryMinDelay)
        {
            throw new OptionsException("uplink-retry-min", $"need 0 < uplink-retry-min ({RetryMinDelay}) <= uplink-retry-max ({RetryMaxDelay}).");
        }

        if (BreakerFailures < 2)
        {
            throw new OptionsException("uplink-breaker-failures", $"{BreakerFailures} is below 2.");
        }

        if (BreakDuration < TimeSpan.FromMilliseconds(500))
        {
            throw new OptionsException("uplink-breaker-duration", $"{BreakDuration} is shorter than 500 ms.");
        }
    }
}
