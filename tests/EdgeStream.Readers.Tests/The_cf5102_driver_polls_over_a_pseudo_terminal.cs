using System.Buffers;
using EdgeStream.Contracts;
using EdgeStream.Readers;
using EdgeStream.Readers.Serial;
using EdgeStream.SerialProtocols.Chafon;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers.Tests;

/// <summary>The CF-RU5102 driver polls a reader answering on a real pty; multi-frame answers become reads, corrupted bytes are counted.</summary>
[Trait("Capability", "Readers")]
public sealed class The_cf5102_driver_polls_over_a_pseudo_terminal
{
    [Fact]
    public async Task Polled_inventory_answers_become_reads()
    {
        await using var pty = await PtyPair.StartAsync();
        using var stop = new CancellationTokenSource();
        var polls = 0;
        var reader = Task.Run(async () =>
        {
            // The reader: answers every inventory poll with two frames (more, done) and some line noise.
            var buffer = new byte[64];
            var epc1 = Convert.FromHexString("3034257BF400B7800004CB2F");
            while (!stop.IsCancellationRequested)
            {
                var n = await pty.Host.ReadAsync(buffer, stop.Token);
                if (n == 0)
                {
                    return;
                }

                polls++;
                byte[] more = Cf5102Codec.Response(0x00, Cf5102Command.Inventory, Cf5102Command.StatusMore, [1, 12, .. epc1]);
                byte[] done = Cf5102Codec.Response(0x00, Cf5102Command.Inventory, Cf5102Command.StatusDone, [1, 4, 0xCA, 0xFE, 0x00, (byte)polls]);
                await pty.Host.WriteAsync((byte[])[.. more, 0x02, 0x99, .. done], stop.Token);
                await pty.Host.FlushAsync(stop.Token);
            }
        });
        await using var driver = (Cf5102ReaderDriver)ReaderDrivers.Create($"serial://{pty.DevicePath}?protocol=cf-ru5102&baud=57600&address=0", "desk-1", NullLoggerFactory.Instance);
        var sink = new TestSink();
        var run = driver.RunAsync(sink, stop.Token);

        await Wait.UntilAsync(() => sink.ReadCount >= 10 && driver.Counters.FramesRejected >= 1, sink.Describe);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        // The fake reader blocks in a pty read that cancellation cannot interrupt: closing the pty ends it.
        await pty.DisposeAsync();
        await reader.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        var reads = sink.Reads;
        Assert.Contains(reads, r => r.Epc.ToString() == "3034257BF400B7800004CB2F");
        Assert.Contains(reads, r => r.Epc.ToString().StartsWith("CAFE00", StringComparison.Ordinal));
        Assert.All(reads, r =>
        {
            Assert.Equal(SourceKind.Serial, r.Source);
            Assert.Equal(1, r.Antenna);
            Assert.Equal(TagRead.NoRssi, r.RssiCentiDbm);
        });
        Assert.Equal(1, driver.Counters.Connects);
    }
}
