using System.Text;
using Confluent.Kafka;

namespace EdgeStream.Engine.Sinks.Kafka;

/// <summary>
/// Writes a job's outputs to a Kafka topic, keyed by the job's key, with the deterministic output id in
/// the <c>edgestream-output-id</c> header. With <see cref="KafkaOutputSinkOptions.Transactional"/> off it
/// is an idempotent producer whose flush waits for the acknowledgements; on, it is exactly-once towards
/// read-committed consumers: per input partition one producer (<c>transactional.id</c> = prefix-partition,
/// which fences a zombie owner of the partition) and, per checkpoint, one transaction holding that
/// partition's outputs and its consumer offset (<c>SendOffsetsToTransaction</c>).
/// </summary>
/// <remarks>
/// In transactional mode outputs wait in memory until their partition's next checkpoint: a
/// read-committed consumer only sees them at the commit anyway. A crash between the transaction's commit
/// and the checkpoint file's write makes the restored task emit those outputs again, with the same ids;
/// they are committed a second time, so consumers still deduplicate by the id header (the engine's
/// recovery reads its checkpoint, not the group's offsets). A crash before the commit leaves an open
/// transaction that the next owner's <c>InitTransactions</c> aborts: its outputs are never visible.
/// </remarks>
public sealed class KafkaOutputSink<TKey, TOutput> : ITransactionalOutputSink<TKey, TOutput>, IDisposable
{
    /// <summary>Header carrying the output id.</summary>
    public const string OutputIdHeader = "edgestream-output-id";

    private readonly KafkaOutputSinkOptions _options;
    private readonly Func<TKey, byte[]> _keyBytes;
    private readonly Func<TOutput, byte[]> _valueBytes;
    private readonly IProducer<byte[], byte[]>? _producer;
    private readonly Dictionary<int, PartitionTransaction> _transactions = [];
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivered;
    private IConsumerGroupMetadata? _group;
    private string? _deliveryError;
    private long _commits;
    private long _failures;

    /// <summary>Creates the sink; validates the options (throws naming the bad key).</summary>
    public KafkaOutputSink(KafkaOutputSinkOptions options, Func<TKey, byte[]> keyBytes, Func<TOutput, byte[]> valueBytes)
    {
        _options = options.Validate();
        _keyBytes = keyBytes;
        _valueBytes = valueBytes;
        _onDelivered = r =>
        {
            if (r.Error.IsError)
            {
                Interlocked.CompareExchange(ref _deliveryError, $"{r.Error.Code}: {r.Error.Reason}", null);
            }
        };
        if (!options.Transactional)
        {
            _producer = new ProducerBuilder<byte[], byte[]>(Config(new ProducerConfig { EnableIdempotence = true, Acks = Acks.All })).Build();
        }
    }

    /// <summary>Transactions (or flushes) completed.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Transactions (or flushes) that failed; the checkpoint failed with them and the outputs wait for the next.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <inheritdoc />
    public void Write(in Output<TKey, TOutput> output)
    {
        var message = new Message<byte[], byte[]>
        {
            Key = _keyBytes(output.Key),
            Value = _valueBytes(output.Value),
            Timestamp = new Timestamp(DateTimeOffset.FromUnixTimeMilliseconds(output.Timestamp / 1000)),
            Headers = [new Header(OutputIdHeader, Encoding.ASCII.GetBytes(output.Id.ToString()))],
        };
        if (_producer is not null)
        {
            _producer.Produce(_options.Topic, message, _onDelivered);
            return;
        }

        var tx = Transaction(output.Partition);
        lock (tx)
        {
            tx.Pending.Add(message);
        }
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken) =>
        _producer is null ? ValueTask.CompletedTask : new ValueTask(Task.Run(FlushProducer, cancellationToken));

    /// <inheritdoc />
    public ValueTask CommitAsync(int partition, long nextOffset, CancellationToken cancellationToken) =>
        _producer is not null ? FlushAsync(cancellationToken) : new ValueTask(Task.Run(() => CommitTransaction(partition, nextOffset), cancellationToken));

    /// <inheritdoc />
    public void Dispose()
    {
        _producer?.Dispose();
        lock (_transactions)
        {
            foreach (var tx in _transactions.Values)
            {
                tx.Producer?.Dispose();
            }

            _transactions.Clear();
        }
    }

    private void FlushProducer()
    {
        var left = _producer!.Flush(_options.Timeout);
        var error = Interlocked.Exchange(ref _deliveryError, null);
        if (left > 0 || error is not null)
        {
            Interlocked.Increment(ref _failures);
            throw new KafkaException(new Error(ErrorCode.Local_TimedOut, error ?? $"{left} outputs not acknowledged within {_options.Timeout}"));
        }

        Interlocked.Increment(ref _commits);
    }

    private void CommitTransaction(int partition, long nextOffset)
    {
        var tx = Transaction(partition);

        // One commit per partition at a time (the runner has one checkpoint in flight per partition).
        lock (tx.CommitGate)
        {
            List<Message<byte[], byte[]>> batch;
            lock (tx)
            {
                batch = tx.Pending;
                tx.Pending = [];
            }

            try
            {
                var producer = tx.Producer ??= StartTransactionalProducer(partition);
                producer.BeginTransaction();
                foreach (var m in batch)
                {
                    producer.Produce(_options.Topic, m, _onDelivered);
                }

                producer.SendOffsetsToTransaction([new TopicPartitionOffset(_options.InputTopic!, partition, nextOffset)], GroupMetadata(), _options.Timeout);
                producer.CommitTransaction(_options.Timeout);
                Interlocked.Increment(ref _commits);
            }
            catch (KafkaException)
            {
                Interlocked.Increment(ref _failures);

                // The outputs go into the next attempt, ahead of those written meanwhile.
                lock (tx)
                {
                    batch.AddRange(tx.Pending);
                    tx.Pending = batch;
                }

                try
                {
                    tx.Producer?.AbortTransaction(_options.Timeout);
                }
                catch (KafkaException)
                {
                    // Fenced or fatal: start over with a new producer (InitTransactions aborts what is open).
                    tx.Producer?.Dispose();
                    tx.Producer = null;
                }

                throw;
            }
        }
    }

    private IProducer<byte[], byte[]> StartTransactionalProducer(int partition)
    {
        var producer = new ProducerBuilder<byte[], byte[]>(Config(new ProducerConfig
        {
            TransactionalId = $"{_options.TransactionalIdPrefix}-{partition}",
            EnableIdempotence = true,
            Acks = Acks.All,
        })).Build();
        try
        {
            // Fences an older producer with the same id (a zombie owner) and aborts its open transaction.
            producer.InitTransactions(_options.Timeout);
            return producer;
        }
        catch
        {
            producer.Dispose();
            throw;
        }
    }

    private IConsumerGroupMetadata GroupMetadata()
    {
        if (_group is null)
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(Config(new ConsumerConfig { GroupId = _options.GroupId })).Build();
            _group = consumer.ConsumerGroupMetadata;
        }

        return _group;
    }

    private PartitionTransaction Transaction(int partition)
    {
        lock (_transactions)
        {
            if (!_transactions.TryGetValue(partition, out var tx))
            {
                tx = new PartitionTransaction();
                _transactions.Add(partition, tx);
            }

            return tx;
        }
    }

    private T Config<T>(T config)
        where T : ClientConfig
    {
        config.BootstrapServers = _options.BootstrapServers;
        foreach (var (key, value) in _options.ClientConfig)
        {
            config.Set(key, value);
        }

        return config;
    }

    private sealed class PartitionTransaction
    {
        public Lock CommitGate { get; } = new();

        public List<Message<byte[], byte[]>> Pending { get; set; } = [];

        public IProducer<byte[], byte[]>? Producer { get; set; }
    }
}
