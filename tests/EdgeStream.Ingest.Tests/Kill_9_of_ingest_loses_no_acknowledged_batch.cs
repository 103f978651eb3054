using System.Diagnostics;
using EdgeStream.Contracts.Wire;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using MQTTnet;
using MQTTnet.Formatter;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Kill_9_of_ingest_loses_no_acknowledged_batch
{
    private const string Gw = "gw-crash";
    private const string Password = "crash-pass";
    private const int ReadsPerBatch = 50;

    [Fact]
    public async Task Every_batch_acknowledged_before_a_sigkill_is_in_the_log_once_and_resends_are_dropped()
    {
        using var dir = new TempDirectory();
        var acked = new List<ulong>();
        var inFlightAtKill = new HashSet<ulong>();
        ulong next = 1;

        // Three rounds: start the ingest process, publish until some batches are acknowledged, kill -9 it
        // mid-stream. Each round first resends everything not yet acknowledged, as an edge outbox does.
        for (var round = 0; round < 3; round++)
        {
            var port = Net.FreePort();
            using var host = await StartHostAsync(dir.Path, port);
            using var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(Gw)
                .WithCredentials(Gw, Password).WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build());

            // An acknowledged batch resent after the crash (the edge had not recorded the PUBACK) must be dropped.
            if (acked.Count > 0)
            {
                var resend = await client.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads(Gw, acked[^1], ReadsPerBatch)));
                Assert.Equal(MqttClientPublishReasonCode.Success, resend.ReasonCode);
            }

            var target = acked.Count + 15;
            var publishing = Task.Run(async () =>
            {
                while (true)
                {
                    var seq = next;
                    var r = await client.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads(Gw, seq, ReadsPerBatch)));
                    Assert.Equal(MqttClientPublishReasonCode.Success, r.ReasonCode);
                    lock (acked)
                    {
                        acked.Add(seq);
                    }

                    next = seq + 1;
                }
            });

            await Eventually.TrueAsync(() => Task.FromResult(Count(acked) >= target || publishing.IsFaulted), TimeSpan.FromSeconds(30), "batches to be acknowledged");
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => publishing.WaitAsync(TimeSpan.FromSeconds(60)));
            inFlightAtKill.Add(next);
        }

        // Read the log the process left behind.
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = Path.Combine(dir.Path, "log"), Partitions = 4 });
        using var consumer = log.CreateConsumer(new LogConsumerOptions { GroupId = "verify" });
        var records = new Dictionary<(ulong Seq, int Index), int>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var batch = await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(300), cts.Token);
            if (batch.Count == 0)
            {
                break;
            }

            foreach (var r in batch)
            {
                var e = LogRecordCodec.Decode(r.Value.Span);
                Assert.Equal(Gw, e.GatewayId);
                records[(e.Sequence, e.Index)] = records.GetValueOrDefault((e.Sequence, e.Index)) + 1;
            }
        }

        Assert.True(acked.Count >= 45);
        foreach (var seq in acked)
        {
            for (var i = 0; i < ReadsPerBatch; i++)
            {
                Assert.True(records.ContainsKey((seq, i)), $"read {i} of acknowledged batch {seq} is missing");
            }
        }

        // A second copy can only come from the batch in flight when the process died, and only if the
        // kill cut its append between partitions (part durable, part not): it is then not marked as
        // seen at restart, so its resend is appended whole. Records carry (gateway, sequence, index),
        // so consumers drop such copies. Resending an acknowledged batch never adds a copy.
        var duplicated = records.Where(kv => kv.Value > 1).Select(kv => kv.Key.Seq).ToHashSet();
        Assert.Subset(inFlightAtKill, duplicated);
        Assert.All(records.Values, n => Assert.InRange(n, 1, 2));
    }

    private static int Count(List<ulong> acked)
    {
        lock (acked)
        {
            return acked.Count;
        }
    }

    private static async Task<Process> StartHostAsync(string dir, int port)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "EdgeStream.Ingest.TestHost.dll");
        var process = Process.Start(new ProcessStartInfo("dotnet", [dll, dir, port.ToString(), Gw, Password])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "ready")
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return process;
    }
}
