using System.Diagnostics;

namespace EdgeStream.EventLog.Kafka.Tests;

[Trait("Capability", "Ingest")]
public sealed class Kafka_mock_cluster_serves_clients_in_other_processes
{
    [Fact]
    public async Task Kcat_reads_the_records_the_log_appended_over_the_kafka_protocol()
    {
        await using var h = await KafkaHarness.StartAsync(partitions: 2, topic: "kcat-check");
        await h.Log.AppendAsync([KafkaHarness.Message("EPC-1", "hello-kafka"), KafkaHarness.Message("EPC-2", "second")]);

        var psi = new ProcessStartInfo("kcat", ["-C", "-b", h.Cluster.BootstrapServers, "-t", "kcat-check", "-o", "beginning", "-e", "-q", "-f", "%k=%s\\n"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var kcat = Process.Start(psi)!;
        var stdout = kcat.StandardOutput.ReadToEndAsync();
        var stderr = kcat.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await kcat.WaitForExitAsync(cts.Token);
        var output = await stdout;
        Assert.True(kcat.ExitCode == 0, "kcat failed: " + await stderr);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        Assert.Equal(["EPC-1=hello-kafka", "EPC-2=second"], lines);
    }
}
