namespace EdgeStream.Engine.Sinks.Kafka;

/// <summary>
/// Where a job's outputs go in Kafka, and whether they are committed in transactions with the input
/// offsets (<see cref="Transactional"/>, the exactly-once switch). Immutable; validated at start.
/// </summary>
public sealed record KafkaOutputSinkOptions
{
    /// <summary>Kafka <c>bootstrap.servers</c>. Required.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>The topic the outputs are written to. Required.</summary>
    public required string Topic { get; init; }

    /// <summary>
    /// Off (default): an idempotent producer; a checkpoint completes once its outputs are acknowledged, and
    /// consumers deduplicate replays by the output id header. On: per input partition, one Kafka
    /// transaction per checkpoint holds the partition's outputs and its consumer offsets.
    /// </summary>
    public bool Transactional { get; init; }

    /// <summary>Prefix of the producers' <c>transactional.id</c> (<c>prefix-partition</c>); required when <see cref="Transactional"/>.</summary>
    public string? TransactionalIdPrefix { get; init; }

    /// <summary>The input topic whose offsets the transactions carry; required when <see cref="Transactional"/>.</summary>
    public string? InputTopic { get; init; }

    /// <summary>The consumer group the offsets are committed for; required when <see cref="Transactional"/>.</summary>
    public string? GroupId { get; init; }

    /// <summary>Longest wait for acknowledgements, transaction start and commit.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Further librdkafka settings (security.protocol, sasl.*, ssl.*).</summary>
    public IReadOnlyDictionary<string, string> ClientConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public KafkaOutputSinkOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException("EngineKafkaSink:BootstrapServers is required (host:port[,host:port…]).", nameof(BootstrapServers));
        }

        if (string.IsNullOrWhiteSpace(Topic))
        {
            throw new ArgumentException("EngineKafkaSink:Topic is required.", nameof(Topic));
        }

        if (Transactional)
        {
            if (string.IsNullOrWhiteSpace(TransactionalIdPrefix))
            {
                throw new ArgumentException("EngineKafkaSink:TransactionalIdPrefix is required when EngineKafkaSink:Transactional = true.", nameof(TransactionalIdPrefix));
            }

            if (string.IsNullOrWhiteSpace(InputTopic))
            {
                throw new ArgumentException("EngineKafkaSink:InputTopic is required when EngineKafkaSink:Transactional = true (the offsets committed with the outputs).", nameof(InputTopic));
            }

            if (string.IsNullOrWhiteSpace(GroupId))
            {
                throw new ArgumentException("EngineKafkaSink:GroupId is required when EngineKafkaSink:Transactional = true (the group the offsets belong to).", nameof(GroupId));
            }
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"EngineKafkaSink:Timeout = {Timeout} is invalid; allowed: above 0.", nameof(Timeout));
        }

        return this;
    }
}
