using EdgeStream.EventLog.Embedded;

namespace EdgeStream.EventLog.Kafka;

/// <summary>
/// Which event log a deployment runs, as bound from configuration (section <c>EventLog</c>):
/// <c>Kind</c> = <c>embedded</c> (the default, one machine) with <c>Embedded</c> settings, or <c>kafka</c>
/// with <c>Kafka</c> settings.
/// </summary>
public sealed record EventLogSettings
{
    /// <summary><c>embedded</c> or <c>kafka</c>.</summary>
    public string Kind { get; init; } = "embedded";

    /// <summary>Settings of the embedded log; required when <see cref="Kind"/> is <c>embedded</c>.</summary>
    public EmbeddedLogOptions? Embedded { get; init; }

    /// <summary>Settings of the Kafka log; required when <see cref="Kind"/> is <c>kafka</c>.</summary>
    public KafkaLogOptions? Kafka { get; init; }

    /// <summary>
    /// The settings of a second log beside this one, for records a stage of the cloud derives (the zone
    /// log): the same kind and settings, in the folder <c>{Directory}-{suffix}</c> or the topic
    /// <c>{Topic}-{suffix}</c>.
    /// </summary>
    public EventLogSettings Beside(string suffix) => this with
    {
        Embedded = Embedded is { } e ? e with { Directory = Path.TrimEndingDirectorySeparator(e.Directory) + "-" + suffix, Name = e.Name + "-" + suffix } : null,
        Kafka = Kafka is { } k ? k with { Topic = k.Topic + "-" + suffix } : null,
    };
}

/// <summary>Opens the event log that <see cref="EventLogSettings"/> selects.</summary>
public static class EventLogSelection
{
    /// <summary>Validates the settings and opens the selected log.</summary>
    /// <exception cref="ArgumentException">Unknown kind or missing/invalid settings; the message names the key.</exception>
    public static async Task<IEventLog> OpenAsync(EventLogSettings settings, CancellationToken cancellationToken = default)
    {
        switch (settings.Kind.Trim().ToLowerInvariant())
        {
            case "embedded":
                return EmbeddedEventLog.Open(settings.Embedded
                    ?? throw new ArgumentException("EventLog:Embedded settings (at least Directory) are required when EventLog:Kind is 'embedded'."));
            case "kafka":
                return await KafkaEventLog.OpenAsync(
                    settings.Kafka ?? throw new ArgumentException("EventLog:Kafka settings (at least BootstrapServers) are required when EventLog:Kind is 'kafka'."),
                    cancellationToken);
            default:
                throw new ArgumentException($"EventLog:Kind '{settings.Kind}' is not known; use 'embedded' or 'kafka'.");
        }
    }
}
