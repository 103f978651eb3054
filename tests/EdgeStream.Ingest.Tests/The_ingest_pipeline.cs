using System.Buffers;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.Ingest;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class The_ingest_pipeline : IAsyncLifetime
{
    private const string Gw = "gw-ward-3";
    private readonly TempDirectory _dir = new();
    private EmbeddedEventLog _log = null!;
    private IngestPipeline _pipeline = null!;

    private static string ReadsTopic => Topics.For(Gw, TopicKind.Reads);

    public async Task InitializeAsync()
    {
        _log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = Path.Combine(_dir.Path, "log"), Partitions = 4 });
        _pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(_dir.Path, "ingest") }, _log);
    }

    public async Task DisposeAsync()
    {
        _pipeline.Dispose();
        await _log.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<List<(LogRecord Record, LogEntry Entry, byte[] Key)>> ReadLogAsync(int count)
    {
        using var consumer = _log.CreateConsumer(new LogConsumerOptions { GroupId = "check-" + Guid.NewGuid().ToString("N") });
        var result = new List<(LogRecord, LogEntry, byte[])>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (result.Count < count)
        {
            foreach (var r in await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(100), cts.Token))
            {
                result.Add((r, LogRecordCodec.Decode(r.Value.Span), r.Key.ToArray()));
            }
        }

        Assert.Empty(await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(20)));
        return result;
    }

    [Fact]
    public async Task A_valid_batch_is_appended_one_record_per_read_keyed_by_epc_with_event_time()
    {
        var batch = Batches.Reads(Gw, 1, count: 20);
        Assert.Equal(IngestOutcome.Appended, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(batch), default));

        var records = await ReadLogAsync(20);
        foreach (var (record, entry, key) in records)
        {
            var read = batch.Reads[entry.Index];
            Assert.Equal(read, entry.Read);
            Assert.Equal(Gw, entry.GatewayId);
            Assert.Equal(1UL, entry.Sequence);
            Assert.Equal(read.Epc.ToArray(), key);
            Assert.Equal(read.EventTimeUs, record.TimestampUs);
            Assert.Equal(LogPartitioner.PartitionFor(key, 4), record.Partition);
        }

        Assert.Equal(Enumerable.Range(0, 20), records.Select(r => r.Entry.Index).Order());
        Assert.Equal(1, _pipeline.Metrics.MessagesTotal);
        Assert.Equal(20, _pipeline.Metrics.ReadsIngestedTotal);
        Assert.NotNull(_pipeline.Metrics.LastSeen(Gw));
    }

    [Fact]
    public async Task Presence_batches_on_the_events_topic_are_appended()
    {
        var batch = Batches.Presence(Gw, 7);
        Assert.Equal(IngestOutcome.Appended, await _pipeline.HandleAsync(Gw, Topics.For(Gw, TopicKind.Events), Batches.Bytes(batch), default));
        var (_, entry, _) = Assert.Single(await ReadLogAsync(1));
        Assert.Equal(DataClass.Presence, entry.Class);
        Assert.Equal(batch.Events[0], entry.Presence);
    }

    [Fact]
    public async Task Redelivered_batches_are_dropped_and_counted_in_any_order_and_after_a_restart()
    {
        foreach (var seq in new ulong[] { 3, 1, 2, 5 })
        {
            Assert.Equal(IngestOutcome.Appended, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, seq, 4)), default));
        }

        foreach (var seq in new ulong[] { 1, 2, 3, 5 })
        {
            Assert.Equal(IngestOutcome.Duplicate, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, seq, 4)), default));
        }

        Assert.Equal(4, _pipeline.Metrics.DuplicatesTotal);
        Assert.False(_pipeline.HasSeen(Gw, 4));

        // Same sequence from another gateway is a different batch.
        Assert.Equal(IngestOutcome.Appended, await _pipeline.HandleAsync("gw-other", Topics.For("gw-other", TopicKind.Reads), Batches.Bytes(Batches.Reads("gw-other", 1, 4)), default));

        _pipeline.Dispose();
        _pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(_dir.Path, "ingest") }, _log);
        Assert.Equal(IngestOutcome.Duplicate, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 3, 4)), default));
        Assert.Equal(IngestOutcome.Appended, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 4, 4)), default));
        Assert.Equal(IngestOutcome.Duplicate, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 4, 4)), default));
        Assert.Equal(6 * 4, (await ReadLogAsync(24)).Count);
    }

    [Fact]
    public async Task Batches_appended_just_before_a_crash_without_their_dedupe_mark_are_recovered_from_the_log_tail()
    {
        // What a crash between the durable append and the durable dedupe mark leaves behind: the
        // records of batch 2 whole in the log, of batch 3 only in part, and no marks for either.
        await _log.AppendAsync(Records(Batches.Reads(Gw, 2, 12)));
        await _log.AppendAsync(Records(Batches.Reads(Gw, 3, 12)).Take(5).ToList());

        _pipeline.Dispose();
        _pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(_dir.Path, "ingest") }, _log);

        Assert.Equal(1, _pipeline.RecoveredBatches);
        Assert.True(_pipeline.HasSeen(Gw, 2));
        Assert.False(_pipeline.HasSeen(Gw, 3));
        Assert.Equal(IngestOutcome.Duplicate, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 2, 12)), default));

        // The partial batch's redelivery appends only the 7 records the crash cut off: nothing lost, none twice.
        Assert.Equal(IngestOutcome.Appended, await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 3, 12)), default));
        var all = await ReadLogAsync(12 + 12);
        var third = all.Where(r => r.Entry.Sequence == 3).Select(r => r.Entry.Index).ToList();
        Assert.Equal(Enumerable.Range(0, 12), third.Order());

        // Recovery marks are durable: a later restart still knows them without reading the tail.
        _pipeline.Dispose();
        _pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(_dir.Path, "ingest"), DedupeRecoveryRecordsPerPartition = 0 }, _log);
        Assert.True(_pipeline.HasSeen(Gw, 2));
        Assert.True(_pipeline.HasSeen(Gw, 3));
    }

    private static List<LogMessage> Records(Batch batch)
    {
        var buffer = new byte[LogRecordCodec.MaxEncodedBytes];
        return batch.Reads.Select((r, i) =>
        {
            var n = LogRecordCodec.EncodeRead(batch.GatewayId, batch.Sequence, i, batch.Count, r, buffer);
            return new LogMessage(r.Epc.ToArray(), buffer.AsSpan(0, n).ToArray(), r.EventTimeUs);
        }).ToList();
    }

    [Fact]
    public async Task Concurrent_deliveries_of_one_batch_append_it_once()
    {
        var bytes = Batches.Bytes(Batches.Reads(Gw, 9, 8));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => _pipeline.HandleAsync(Gw, ReadsTopic, bytes, default))));
        Assert.Single(outcomes, o => o == IngestOutcome.Appended);
        Assert.Equal(7, outcomes.Count(o => o == IngestOutcome.Duplicate));
        Assert.Equal(8, (await ReadLogAsync(8)).Count);
    }

    public static TheoryData<string, string> BadPayloads => new()
    {
        { "bad_magic", "magic" },
        { "unsupported_version", "version" },
        { "bad_checksum", "checksum" },
        { "truncated", "truncated" },
        { "oversize", "oversize" },
        { "gateway_mismatch", "other-gateway-in-payload" },
        { "class_mismatch", "events-on-reads-topic" },
        { "malformed", "unknown-class" },
        { "bad_magic", "empty" },
    };

    [Theory]
    [MemberData(nameof(BadPayloads))]
    public async Task Bad_payloads_are_dead_lettered_with_reason_and_raw_bytes_and_ingest_continues(string reason, string how)
    {
        var good = BatchCodec.Encode(Batches.Reads(Gw, 1, 3));
        byte[] bad = how switch
        {
            "magic" => [.. "XX"u8, .. good.AsSpan(2)],
            "version" => [.. good.AsSpan(0, 2), 99, .. good.AsSpan(3)],
            "checksum" => Flip(good, good.Length / 2),
            "truncated" => good.AsSpan(0, 6).ToArray(),
            "oversize" => new byte[WireLimits.MaxPayloadBytes + 1],
            "other-gateway-in-payload" => BatchCodec.Encode(Batches.Reads("gw-intruder", 1, 3)),
            "events-on-reads-topic" => BatchCodec.Encode(Batches.Presence(Gw, 1)),
            "unknown-class" => WithClass(good, 9),
            _ => [],
        };

        Assert.Equal(IngestOutcome.DeadLettered, await _pipeline.HandleAsync(Gw, ReadsTopic, new ReadOnlySequence<byte>(bad), default));
        Assert.Equal(1, _pipeline.Metrics.DeadLetters(reason));

        var letter = Assert.Single(_pipeline.DeadLetters.Query(new DeadLetterQuery { Reason = reason }));
        Assert.Equal(Gw, letter.GatewayId);
        Assert.Equal(ReadsTopic, letter.Topic);
        Assert.Equal(bad.Length, letter.OriginalLength);
        Assert.Equal(bad.AsSpan(0, Math.Min(bad.Length, 1024 * 1024)).ToArray(), letter.Payload);
        Assert.False(string.IsNullOrWhiteSpace(letter.Detail));

        // Ingest carries on, and the refused batch did not poison dedupe for its sequence.
        Assert.Equal(IngestOutcome.Appended, await _pipeline.HandleAsync(Gw, ReadsTopic, new ReadOnlySequence<byte>(good), default));
        Assert.Equal(3, (await ReadLogAsync(3)).Count);
    }

    [Fact]
    public async Task Dead_letters_survive_a_restart_and_are_queryable_by_gateway_and_reason()
    {
        await _pipeline.HandleAsync(Gw, ReadsTopic, new ReadOnlySequence<byte>("garbage"u8.ToArray()), default);
        await _pipeline.HandleAsync("gw-b", "edgestream/v1/gw/gw-b/unknown", new ReadOnlySequence<byte>([1, 2, 3]), default);
        await _pipeline.HandleAsync("gw-b", Topics.For("gw-c", TopicKind.Reads), new ReadOnlySequence<byte>([4]), default);

        _pipeline.Dispose();
        _pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(_dir.Path, "ingest") }, _log);

        Assert.Equal(3, _pipeline.DeadLetters.Count);
        var all = _pipeline.DeadLetters.Query(new DeadLetterQuery());
        Assert.Equal([3L, 2L, 1L], all.Select(d => d.Id));
        Assert.Equal(["gateway_mismatch", "unknown_topic"], _pipeline.DeadLetters.Query(new DeadLetterQuery { GatewayId = "gw-b" }).Select(d => d.Reason));
        Assert.Equal("garbage"u8.ToArray(), _pipeline.DeadLetters.Query(new DeadLetterQuery { Reason = "bad_magic" }).Single().Payload);
        Assert.Single(_pipeline.DeadLetters.Query(new DeadLetterQuery { Limit = 1 }));
    }

    [Fact]
    public async Task The_dead_letter_store_is_bounded_and_counts_what_it_evicts()
    {
        long evicted = 0;
        using var store = DeadLetterStore.Open(Path.Combine(_dir.Path, "dl-bounded"), 1000, 2 * (1000 + 4096), n => evicted += n);
        for (var i = 0; i < 50; i++)
        {
            store.Add(DateTimeOffset.UtcNow, Gw, ReadsTopic, "bad_magic", "x", new byte[900], 900);
        }

        Assert.InRange(store.Count, 2, 12);
        Assert.Equal(50, store.Count + Interlocked.Read(ref evicted));
        Assert.Equal(50, store.Query(new DeadLetterQuery { Limit = 1 }).Single().Id);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Status_and_config_topics_are_not_batches_and_config_is_not_counted()
    {
        Assert.Equal(IngestOutcome.NotABatch, await _pipeline.HandleAsync(Gw, Topics.For(Gw, TopicKind.Status), new ReadOnlySequence<byte>("online"u8.ToArray()), default));
        Assert.Equal(IngestOutcome.NotABatch, await _pipeline.HandleAsync(Gw, Topics.For(Gw, TopicKind.ConfigApplied), new ReadOnlySequence<byte>("{}"u8.ToArray()), default));
        Assert.Equal(IngestOutcome.NotABatch, await _pipeline.HandleAsync(Gw, Topics.For(Gw, TopicKind.Config), new ReadOnlySequence<byte>("{}"u8.ToArray()), default));
        Assert.Equal(2, _pipeline.Metrics.MessagesTotal);
        Assert.Equal(0, _pipeline.Metrics.DeadLettersTotal);
    }

    [Fact]
    public async Task A_log_failure_propagates_and_the_redelivery_is_appended_not_dropped()
    {
        var flaky = new FailingLog(_log) { FailNext = true };
        using var pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(_dir.Path, "ingest-flaky") }, flaky);
        var bytes = Batches.Bytes(Batches.Reads(Gw, 1, 5));
        await Assert.ThrowsAsync<EventLogException>(() => pipeline.HandleAsync(Gw, ReadsTopic, bytes, default));
        Assert.False(pipeline.HasSeen(Gw, 1));
        Assert.Equal(IngestOutcome.Appended, await pipeline.HandleAsync(Gw, ReadsTopic, bytes, default));
        Assert.True(pipeline.HasSeen(Gw, 1));
        Assert.Equal(5, (await ReadLogAsync(5)).Count);
    }

    [Fact]
    public async Task Dedupe_memory_is_bounded_when_sequence_gaps_never_fill()
    {
        using var pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(_dir.Path, "ingest-gaps"), MaxDedupeGapsPerGateway = 3 }, _log);
        foreach (var seq in new ulong[] { 1, 3, 5, 7, 9, 11 })
        {
            Assert.Equal(IngestOutcome.Appended, await pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, seq, 1)), default));
        }

        // The oldest gaps (2, 4) were closed; the newer ones (6, 8, 10) are still open.
        Assert.Equal(IngestOutcome.Duplicate, await pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 2, 1)), default));
        Assert.Equal(IngestOutcome.Appended, await pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 8, 1)), default));
    }

    [Fact]
    public async Task Metrics_render_as_prometheus_text_with_the_documented_names()
    {
        using var exporter = new EdgeStream.Observability.PrometheusExporter(_pipeline.Metrics.Meter);
        await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 1, 6)), default);
        await _pipeline.HandleAsync(Gw, ReadsTopic, Batches.Bytes(Batches.Reads(Gw, 1, 6)), default);
        await _pipeline.HandleAsync(Gw, ReadsTopic, new ReadOnlySequence<byte>([0, 1]), default);

        var text = exporter.Render();
        Assert.Contains("edgestream_cloud_messages_total 3\n", text);
        Assert.Contains("edgestream_cloud_reads_ingested_total 6\n", text);
        Assert.Contains("edgestream_cloud_duplicates_total 1\n", text);
        Assert.Contains("edgestream_cloud_deadletter_total{reason=\"bad_magic\"} 1\n", text);
        Assert.Contains("# TYPE edgestream_cloud_log_append_seconds histogram", text);
        Assert.Contains("edgestream_cloud_log_append_seconds_count 1\n", text);
        Assert.Contains("edgestream_cloud_log_append_seconds_bucket{le=\"+Inf\"} 1\n", text);
        Assert.Contains($"edgestream_cloud_gateway_last_seen_seconds{{gateway=\"{Gw}\"}}", text);
    }

    [Fact]
    public async Task Invalid_options_name_the_key()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = _dir.Path, MaxPayloadBytes = 10 }, _log));
        Assert.Contains("MaxPayloadBytes", ex.Message);
    }

    private static byte[] WithClass(byte[] data, byte dataClass)
    {
        var copy = data.ToArray();
        copy[3] = dataClass;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(copy.Length - 4), Crc32C.Compute(copy.AsSpan(0, copy.Length - 4)));
        return copy;
    }

    private static byte[] Flip(byte[] data, int at)
    {
        var copy = data.ToArray();
        copy[at] ^= 0x5A;
        return copy;
    }

    private sealed class FailingLog(IEventLog inner) : IEventLog
    {
        public bool FailNext { get; set; }

        public string Name => inner.Name;

        public int PartitionCount => inner.PartitionCount;

        public Task<IReadOnlyList<LogPosition>> AppendAsync(IReadOnlyList<LogMessage> messages, CancellationToken cancellationToken = default)
        {
            if (FailNext)
            {
                FailNext = false;
                throw new EventLogException("disk full");
            }

            return inner.AppendAsync(messages, cancellationToken);
        }

        public Task<PartitionOffsets> GetOffsetsAsync(int partition, CancellationToken cancellationToken = default) => inner.GetOffsetsAsync(partition, cancellationToken);

        public IEventLogConsumer CreateConsumer(LogConsumerOptions options) => inner.CreateConsumer(options);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
