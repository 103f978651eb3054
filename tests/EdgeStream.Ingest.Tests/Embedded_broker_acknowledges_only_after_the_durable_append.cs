using EdgeStream.EventLog;
using MQTTnet;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Embedded_broker_acknowledges_only_after_the_durable_append
{
    [Fact]
    public async Task Puback_follows_the_append_and_a_failed_append_gets_no_puback_until_redelivered()
    {
        var gate = new GatedLog();
        await using var h = await EmbeddedBrokerHarness.StartAsync(wrapLog: log => gate.Wrap(log), gateways: ["gw-a"]);
        using var client = await h.ConnectAsync("gw-a");

        // 1. The append is held: the publish must not complete (no PUBACK) until it is released.
        gate.Hold();
        var publish = client.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-a", 1, 4)));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(publish.IsCompleted);
        Assert.Equal(0, await h.LogEndAsync());
        gate.Release();
        Assert.Equal(MqttClientPublishReasonCode.Success, (await publish.WaitAsync(TimeSpan.FromSeconds(30))).ReasonCode);
        Assert.Equal(4, await h.LogEndAsync());

        // 2. The append fails: the broker closes the connection without PUBACK.
        gate.FailNext();
        var failing = client.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-a", 2, 4)));
        await Assert.ThrowsAnyAsync<Exception>(() => failing.WaitAsync(TimeSpan.FromSeconds(30)));
        await Eventually.TrueAsync(() => Task.FromResult(!client.IsConnected), TimeSpan.FromSeconds(30), "the broker to close the connection");
        Assert.False(h.Pipeline.HasSeen("gw-a", 2));

        // 3. The gateway reconnects and sends the batch again: it is appended once.
        using var reconnected = await h.ConnectAsync("gw-a");
        var again = await reconnected.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-a", 2, 4)));
        Assert.Equal(MqttClientPublishReasonCode.Success, again.ReasonCode);
        Assert.Equal(8, await h.LogEndAsync());
        Assert.True(h.Pipeline.HasSeen("gw-a", 2));
    }

    /// <summary>Wraps the real log to hold or fail one append, the way a slow or failing disk would.</summary>
    private sealed class GatedLog
    {
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _hold;
        private volatile bool _fail;

        public Task Entered => _entered.Task;

        public void Hold()
        {
            _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _hold = true;
        }

        public void Release() => _release.TrySetResult();

        public void FailNext() => _fail = true;

        public IEventLog Wrap(IEventLog inner) => new Log(this, inner);

        private sealed class Log(GatedLog gate, IEventLog inner) : IEventLog
        {
            public string Name => inner.Name;

            public int PartitionCount => inner.PartitionCount;

            public async Task<IReadOnlyList<LogPosition>> AppendAsync(IReadOnlyList<LogMessage> messages, CancellationToken cancellationToken = default)
            {
                if (gate._fail)
                {
                    gate._fail = false;
                    throw new EventLogException("simulated disk failure");
                }

                if (gate._hold)
                {
                    gate._hold = false;
                    gate._entered.TrySetResult();
                    await gate._release.Task;
                }

                return await inner.AppendAsync(messages, cancellationToken);
            }

            public Task<PartitionOffsets> GetOffsetsAsync(int partition, CancellationToken cancellationToken = default) => inner.GetOffsetsAsync(partition, cancellationToken);

            public IEventLogConsumer CreateConsumer(LogConsumerOptions options) => inner.CreateConsumer(options);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
