using System.Buffers.Binary;
using System.Net.Http.Json;
using EdgeStream.Contracts;

namespace EdgeStream.Scenarios.Tests;

/// <summary>
/// No loss at the ingest boundary, with the real programs: an edge daemon streams numbered reads to
/// the cloud process, which is killed with SIGKILL at random moments (between receiving a batch and
/// appending it, among others) and restarted on the same data folder and port. The edge removes a
/// batch from its outbox only on the cloud's PUBACK, which follows the durable append; so once the
/// edge's buffer is empty, every read it accepted must be in the cloud's log, and none twice.
/// </summary>
[Trait("Capability", "Ingest")]
public sealed class Kill_9_of_the_cloud_loses_nothing_the_edge_released : IDisposable
{
    private const string Gateway = "gw-cloud-kill";
    private readonly string _dir = Directory.CreateTempSubdirectory("edgestream-cloudkill-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Every_read_the_edge_released_is_in_the_log_once_after_cloud_kills()
    {
        var cloudDir = Directory.CreateDirectory(Path.Combine(_dir, "cloud")).FullName;
        var port = FreePort.Pick();
        var cloud = await CloudProcess.StartInAsync(cloudDir, [Gateway], port);
        var rng = new Random(6);
        string[] EdgeArgs(int run, int rate) =>
        [
            "run", "--gateway-id", Gateway,
            "--reader", $"sim://?rate={rate}&tags=0&run={run}&id=sim",
            "--broker", $"mqtt://{Gateway}:{CloudProcess.GatewayPassword}@127.0.0.1:{port}",
            "--data-dir", Path.Combine(_dir, "edge"), "--http", "127.0.0.1:0",
            "--outbox-commit-interval", "20ms", "--outbox-reads-batch-records", "200",
            "--uplink-retry-min", "50ms", "--uplink-retry-max", "500ms", "--uplink-breaker-failures", "1000",
        ];

        try
        {
            await using (var edge = EdgeDaemonProcess.Start(EdgeArgs(1, 2000)))
            {
                await edge.WaitListeningAsync();
                for (var kill = 0; kill < 4; kill++)
                {
                    // Let batches flow, then kill the cloud wherever it is.
                    var acked = EdgeDaemonProcess.Metric(await edge.ScrapeAsync(), "edgestream_edge_batches_acked_total");
                    var more = rng.Next(5, 40);
                    await Eventually.TrueAsync(
                        async () => EdgeDaemonProcess.Metric(await edge.ScrapeAsync(), "edgestream_edge_batches_acked_total") >= acked + more,
                        TimeSpan.FromSeconds(60), "batches acknowledged by the cloud");
                    await cloud.Process.KillAsync();
                    await cloud.DisposeAsync();
                    cloud = await CloudProcess.StartInAsync(cloudDir, [Gateway], port);
                }

                Assert.Equal(0, await edge.StopAsync());
            }

            // A quiet restart of the edge drains whatever its outbox still holds.
            await using (var drain = EdgeDaemonProcess.Start(EdgeArgs(999, 1)))
            {
                await drain.WaitListeningAsync();
                await Eventually.TrueAsync(
                    async () => EdgeDaemonProcess.Metric(await drain.ScrapeAsync(), "edgestream_edge_buffer_reads") <= 1,
                    TimeSpan.FromSeconds(120), "the edge's outbox drained into the cloud");
                Assert.Equal(0, await drain.StopAsync());
            }

            // Kill once more: the tracking job resumes from its checkpoint and catches up with the log, so
            // the database ends with exactly what was appended.
            await cloud.Process.KillAsync();
            await cloud.DisposeAsync();
            cloud = await CloudProcess.StartInAsync(cloudDir, [Gateway], port);
            await Eventually.TrueAsync(
                async () =>
                {
                    if (!(await cloud.Http.GetAsync("/readyz")).IsSuccessStatusCode)
                    {
                        return false;
                    }

                    // Ready is read to the log's end; also wait for the last events to leave the reorder buffer and reach the database.
                    var status = await cloud.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/status");
                    return status.GetProperty("bufferedEvents").GetInt32() == 0 && status.GetProperty("pendingWrites").GetInt64() == 0;
                },
                TimeSpan.FromSeconds(60), "the tracking job to catch up with the log");
            var assets = await cloud.GetArrayAsync("/api/assets");
            var numbers = assets.Select(a => Epc.ParseHex(a.GetProperty("epc").GetString()!).ToArray())
                .Where(b => BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(2)) == 1)
                .Select(b => (long)BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(4)))
                .ToList();
            var logged = (await cloud.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/status")).GetProperty("logRecords").GetInt64();

            numbers.Sort();
            Assert.Equal(Enumerable.Range(0, numbers.Count).Select(i => (long)i), numbers); // no gap: nothing lost
            Assert.Equal(assets.Length, logged); // every logged read is a distinct tag: nothing appended twice
            Assert.True(numbers.Count > 1000, $"only {numbers.Count} reads went through; the kills did not happen under load");
        }
        finally
        {
            await cloud.DisposeAsync();
        }
    }
}
