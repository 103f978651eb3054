using EdgeStream.Contracts;
using EdgeStream.Readers;
using EdgeStream.Readers.Scanners;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers.Tests;

/// <summary>A line scanner on a real pty: good lines become scanner reads with the operator, bad lines are rejected with a reason.</summary>
[Trait("Capability", "Readers")]
public sealed class The_line_scanner_reads_codes_from_a_serial_line
{
    [Fact]
    public async Task Lines_become_reads_and_bad_lines_are_rejected()
    {
        await using var pty = await PtyPair.StartAsync();
        await using var driver = (LineScannerDriver)ReaderDrivers.Create($"serial://{pty.DevicePath}?protocol=lines&baud=9600&operator=porter-2&zone=dock-1", "dock-scanner", NullLoggerFactory.Instance);
        var sink = new TestSink();
        using var stop = new CancellationTokenSource();
        var run = driver.RunAsync(sink, stop.Token);
        await Wait.UntilAsync(() => sink.Count(ReaderEventKind.Connected) == 1, sink.Describe);

        await pty.WriteAsync("3034257BF400B7800004CB2F\r\n4006381333931\nbad code\r\n\r\n" + new string('9', 300) + "\nepc:ABCD\n");

        await Wait.UntilAsync(() => sink.ReadCount == 3 && driver.Counters.FramesRejected == 2, sink.Describe);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        var reads = sink.Reads;
        Assert.Equal(["3034257BF400B7800004CB2F", "34303036333831333333393331", "ABCD"], reads.Select(r => r.Epc.ToString()));
        Assert.All(reads, r =>
        {
            Assert.Equal(SourceKind.Scanner, r.Source);
            Assert.Equal("porter-2", r.OperatorId);
            Assert.Equal("dock-scanner", r.ReaderId);
            Assert.Equal("dock-1", r.Zone);
        });
        Assert.Contains(sink.Events, e => e.Kind == ReaderEventKind.FrameRejected && e.Message.Contains("not printable ASCII", StringComparison.Ordinal));
        Assert.Contains(sink.Events, e => e.Kind == ReaderEventKind.FrameRejected && e.Message.Contains("longer than 256", StringComparison.Ordinal));
    }
}
