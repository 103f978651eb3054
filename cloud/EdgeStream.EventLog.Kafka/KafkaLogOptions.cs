namespace EdgeStream.EventLog.Kafka;

/// <summary>Settings of the Kafka event log, with the defaults in one place. Validated at open.</summary>
public sealed record KafkaLogOptions
{
    /// <summary>Kafka <c>bootstrap.servers</c>. Required.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>The topic holding the records.</summary>
    public string Topic { get; init; } = "edgestream-records";

    /// <summary>
    /// Partitions of the topic: created with this many when missing, and checked when present (a different
    /// count would move tags to other partitions, breaking per-tag order).
    /// </summary>
    public int Partitions { get; init; } = 12;

    /// <summary>Replication factor used when the topic is created.</summary>
    public short ReplicationFactor { get; init; } = 3;

    /// <summary>Create the topic when it does not exist (needs the admin right to).</summary>
    public bool CreateTopic { get; init; } = true;

    /// <summary>Producer linger: how long to wait to fill batches.</summary>
    public int LingerMs { get; init; } = 5;

    /// <summary>Consumer-group session timeout: how soon a dead stream-service instance's partitions move.</summary>
    public int SessionTimeoutMs { get; init; } = 10_000;

    /// <summary>How long to wait for the cluster at open and for metadata queries.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Further librdkafka settings (security.protocol, sasl.*, ssl.*), applied to producer, consumers and admin.</summary>
    public IReadOnlyDictionary<string, string> ClientConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException("KafkaLogOptions.BootstrapServers is required (host:port[,host:port…]).", nameof(BootstrapServers));
        }

        if (string.IsNullOrWhiteSpace(Topic) || Topic.Length > 249 || !Topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new ArgumentException($"KafkaLogOptions.Topic '{Topic}' is not a valid Kafka topic name (1..249 of A-Z a-z 0-9 . _ -).", nameof(Topic));
        }

        if (Partitions is < 1 or > 10_000)
        {
            throw new ArgumentException($"KafkaLogOptions.Partitions {Partitions} is outside 1..10000.", nameof(Partitions));
        }

        if (ReplicationFactor < 1)
        {
            throw new ArgumentException($"KafkaLogOptions.ReplicationFactor {ReplicationFactor} must be at least 1.", nameof(ReplicationFactor));
        }

        if (LingerMs is < 0 or > 10_000)
        {
            throw new ArgumentException($"KafkaLogOptions.LingerMs {LingerMs} is outside 0..10000.", nameof(LingerMs));
        }

        if (SessionTimeoutMs is < 1000 or > 600_000)
        {
            throw new ArgumentException($"KafkaLogOptions.SessionTimeoutMs {SessionTimeoutMs} is outside 1000..600000.", nameof(SessionTimeoutMs));
        }
    }
}
