using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace EdgeStream.EventLog.Kafka;

/// <summary>
/// The event log on Kafka, for deployments that outgrow one machine: an idempotent producer
/// (acks=all, so an append is durable on the in-sync replicas when it completes), records keyed by
/// tag EPC with Kafka's murmur2 partitioner (the same partition <see cref="LogPartitioner"/> computes),
/// and consumer groups with cooperative rebalancing for the stream service.
/// </summary>
public sealed class KafkaEventLog : IEventLog
{
    private readonly KafkaLogOptions _options;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly Lazy<IConsumer<byte[], byte[]>> _watermarks;

    private KafkaEventLog(KafkaLogOptions options, IProducer<byte[], byte[]> producer, int partitions)
    {
        _options = options;
        _producer = producer;
        PartitionCount = partitions;
        _watermarks = new Lazy<IConsumer<byte[], byte[]>>(() =>
            new ConsumerBuilder<byte[], byte[]>(ClientConfig(new ConsumerConfig { GroupId = "edgestream-watermarks", EnableAutoCommit = false })).Build());
    }

    /// <inheritdoc/>
    public string Name => _options.Topic;

    /// <inheritdoc/>
    public int PartitionCount { get; }

    internal KafkaLogOptions Options => _options;

    /// <summary>Connects, creates or checks the topic, and starts the producer.</summary>
    /// <exception cref="ArgumentException">Invalid options, or the topic has another partition count.</exception>
    /// <exception cref="EventLogException">The cluster could not be reached or the topic created.</exception>
    public static async Task<KafkaEventLog> OpenAsync(KafkaLogOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var partitions = await EnsureTopicAsync(options, cancellationToken);
        var config = new ProducerConfig
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = options.LingerMs,
            Partitioner = Partitioner.Murmur2Random,
            CompressionType = CompressionType.Lz4,
            MessageTimeoutMs = (int)options.RequestTimeout.TotalMilliseconds,
        };
        var producer = new ProducerBuilder<byte[], byte[]>(ClientConfig(options, config)).Build();
        return new KafkaEventLog(options, producer, partitions);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<LogPosition>> AppendAsync(IReadOnlyList<LogMessage> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<LogPosition>>([]);
        }

        var append = new PendingAppend(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var message = new Message<byte[], byte[]>
            {
                Key = m.Key.ToArray(),
                Value = m.Value.ToArray(),
                Timestamp = new Timestamp(m.TimestampUs / 1000, TimestampType.CreateTime),
            };
            var index = i;
            while (true)
            {
                try
                {
                    _producer.Produce(_options.Topic, message, report => append.Complete(index, report));
                    break;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // The client's send queue is full: let deliveries drain it (backpressure, not loss).
                    _producer.Poll(TimeSpan.FromMilliseconds(50));
                }
                catch (KafkaException ex)
                {
                    append.Fail(index, ex.Error.Reason);
                    break;
                }
            }
        }

        return append.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public Task<PartitionOffsets> GetOffsetsAsync(int partition, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, PartitionCount);
        return Task.Run(() =>
        {
            try
            {
                var w = _watermarks.Value.QueryWatermarkOffsets(new TopicPartition(_options.Topic, partition), _options.RequestTimeout);
                return new PartitionOffsets(w.Low.Value, w.High.Value);
            }
            catch (KafkaException ex)
            {
                throw new EventLogException($"Could not read the offsets of {_options.Topic}[{partition}]: {ex.Error.Reason}", ex);
            }
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public IEventLogConsumer CreateConsumer(LogConsumerOptions options)
    {
        options.Validate();
        return new KafkaEventLogConsumer(this, options);
    }

    /// <summary>Delivers what is queued (up to the request timeout) and closes the clients.</summary>
    public ValueTask DisposeAsync()
    {
        _producer.Flush(_options.RequestTimeout);
        _producer.Dispose();
        if (_watermarks.IsValueCreated)
        {
            _watermarks.Value.Close();
            _watermarks.Value.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    internal ClientConfig ClientConfig(ClientConfig config) => ClientConfig(_options, config);

    private static ClientConfig ClientConfig(KafkaLogOptions options, ClientConfig config)
    {
        config.BootstrapServers = options.BootstrapServers;
        foreach (var (key, value) in options.ClientConfig)
        {
            config.Set(key, value);
        }

        return config;
    }

    private static async Task<int> EnsureTopicAsync(KafkaLogOptions options, CancellationToken cancellationToken)
    {
        using var admin = new AdminClientBuilder(ClientConfig(options, new AdminClientConfig())).Build();
        var existing = Partitions(admin, options);
        if (existing == 0 && options.CreateTopic)
        {
            try
            {
                await admin.CreateTopicsAsync(
                    [new TopicSpecification { Name = options.Topic, NumPartitions = options.Partitions, ReplicationFactor = options.ReplicationFactor }],
                    new CreateTopicsOptions { RequestTimeout = options.RequestTimeout });
            }
            catch (CreateTopicsException ex) when (ex.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
            {
                // Another instance created it first.
            }
            catch (KafkaException ex)
            {
                throw new EventLogException($"Could not create Kafka topic '{options.Topic}' (KafkaLogOptions.Topic): {ex.Error.Reason}. Create it with {options.Partitions} partitions, or grant the right to.", ex);
            }

            cancellationToken.ThrowIfCancellationRequested();
            existing = Partitions(admin, options);
        }

        if (existing == 0)
        {
            throw new EventLogException($"Kafka topic '{options.Topic}' (KafkaLogOptions.Topic) does not exist at {options.BootstrapServers}.");
        }

        if (existing != options.Partitions)
        {
            throw new ArgumentException(
                $"KafkaLogOptions.Partitions is {options.Partitions} but topic '{options.Topic}' has {existing}; tags would change partitions. Set Partitions to {existing}.",
                nameof(options));
        }

        return existing;
    }

    private static int Partitions(IAdminClient admin, KafkaLogOptions options)
    {
        try
        {
            var metadata = admin.GetMetadata(options.Topic, options.RequestTimeout);
            var topic = metadata.Topics.FirstOrDefault(t => t.Topic == options.Topic);
            return topic is null || topic.Error.Code != ErrorCode.NoError ? 0 : topic.Partitions.Count;
        }
        catch (KafkaException ex)
        {
            throw new EventLogException($"Kafka at {options.BootstrapServers} (KafkaLogOptions.BootstrapServers) did not answer: {ex.Error.Reason}", ex);
        }
    }

    /// <summary>Collects the delivery reports of one append; completes when all arrived.</summary>
    private sealed class PendingAppend(int count)
    {
        private readonly LogPosition[] _positions = new LogPosition[count];
        private readonly TaskCompletionSource<IReadOnlyList<LogPosition>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = count;
        private string? _error;

        public Task<IReadOnlyList<LogPosition>> Task => _done.Task;

        public void Complete(int index, DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError)
            {
                Fail(index, report.Error.Reason);
                return;
            }

            _positions[index] = new LogPosition(report.Partition.Value, report.Offset.Value);
            Done();
        }

        public void Fail(int index, string reason)
        {
            Interlocked.CompareExchange(ref _error, $"record {index}: {reason}", null);
            Done();
        }

        private void Done()
        {
            if (Interlocked.Decrement(ref _remaining) != 0)
            {
                return;
            }

            if (_error is null)
            {
                _done.TrySetResult(_positions);
            }
            else
            {
                _done.TrySetException(new EventLogException($"Kafka did not accept every record of the append ({_error})."));
            }
        }
    }
}
