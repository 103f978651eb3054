namespace EdgeStream.Ingest;

/// <summary>
/// How ingest reaches an external MQTT broker (e.g. Mosquitto), from <c>--broker mqtt[s]://[user[:password]@]host[:port]</c>.
/// Immutable; validated at start.
/// </summary>
public sealed record ExternalBrokerOptions
{
    /// <summary>Host name or address of the broker. Required.</summary>
    public required string Host { get; init; }

    /// <summary>Port (1883 for mqtt, 8883 for mqtts by default).</summary>
    public int Port { get; init; } = 1883;

    /// <summary>Use TLS.</summary>
    public bool UseTls { get; init; }

    /// <summary>PEM file of the CA that signed the broker's certificate (TLS); null trusts the system store.</summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>The ingest's MQTT client id: stable, so the broker keeps its session (and queued messages) across restarts.</summary>
    public string ClientId { get; init; } = "edgestream-cloud-ingest";

    /// <summary>User name, if the broker requires one.</summary>
    public string? UserName { get; init; }

    /// <summary>Password, if the broker requires one.</summary>
    public string? Password { get; init; }

    /// <summary>How long the broker keeps the session and queues messages while ingest is away.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Messages received but not yet acknowledged (MQTT receive maximum and the hand-over queue bound).</summary>
    public int MaxInFlight { get; init; } = 256;

    /// <summary>Longest wait between reconnect attempts (backoff doubles up to it, with jitter).</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Parses <c>mqtt[s]://[user[:password]@]host[:port]</c>.</summary>
    /// <exception cref="ArgumentException">Not such a URI; the message names <c>--broker</c>.</exception>
    public static ExternalBrokerOptions Parse(string broker)
    {
        if (!Uri.TryCreate(broker, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"--broker '{broker}' is not valid: expected mqtt://host[:port] or mqtts://host[:port], optionally with user:password@.", nameof(broker));
        }

        var tls = uri.Scheme == "mqtts";
        string? user = null, password = null;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null;
        }

        return new ExternalBrokerOptions
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 8883 : 1883) : uri.Port,
            UseTls = tls,
            UserName = user,
            Password = password,
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            throw new ArgumentException("ExternalBrokerOptions.Host is required.", nameof(Host));
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentException($"ExternalBrokerOptions.Port {Port} is outside 1..65535.", nameof(Port));
        }

        if (string.IsNullOrWhiteSpace(ClientId) || ClientId.Length > 128)
        {
            throw new ArgumentException("ExternalBrokerOptions.ClientId must be 1..128 characters.", nameof(ClientId));
        }

        if (SessionExpiry <= TimeSpan.Zero || SessionExpiry.TotalSeconds > uint.MaxValue)
        {
            throw new ArgumentException($"ExternalBrokerOptions.SessionExpiry {SessionExpiry} must be positive: a persistent session keeps messages queued while ingest restarts.", nameof(SessionExpiry));
        }

        if (MaxInFlight is < 1 or > 65535)
        {
            throw new ArgumentException($"ExternalBrokerOptions.MaxInFlight {MaxInFlight} is outside 1..65535.", nameof(MaxInFlight));
        }

        if (MaxReconnectDelay < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException($"ExternalBrokerOptions.MaxReconnectDelay {MaxReconnectDelay} is below 100 ms.", nameof(MaxReconnectDelay));
        }

        if (CaCertificatePath is not null && !File.Exists(CaCertificatePath))
        {
            throw new ArgumentException($"ExternalBrokerOptions.CaCertificatePath '{CaCertificatePath}' does not exist.", nameof(CaCertificatePath));
        }
    }
}
