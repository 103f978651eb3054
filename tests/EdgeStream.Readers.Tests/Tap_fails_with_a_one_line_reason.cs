using System.Net;
using System.Net.Sockets;
using EdgeStream.Emulators;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>The probe exits non-zero with a one-line reason when the reader cannot be reached or configured, and 2 on bad arguments.</summary>
[Trait("Capability", "Readers")]
public sealed class Tap_fails_with_a_one_line_reason
{
    [Fact]
    public async Task Unreachable_reader_exits_one_with_the_reason()
    {
        // A port that was free a moment ago: nothing listens there.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var stderr = new StringWriter();

        var code = await TapCommand.RunAsync([$"llrp://127.0.0.1:{port}", "--timeout", "20"], new StringWriter(), stderr, CancellationToken.None);

        Assert.Equal(1, code);
        var last = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.StartsWith("tap: Cannot reach LLRP reader 127.0.0.1:", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reader_refusing_configuration_exits_one_with_its_description()
    {
        await using var emulator = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = Emulated.Busy });
        await emulator.StartAsync();
        var stderr = new StringWriter();

        var code = await TapCommand.RunAsync([$"llrp://127.0.0.1:{emulator.Port}?antennas=7", "--timeout", "20"], new StringWriter(), stderr, CancellationToken.None);

        Assert.Equal(1, code);
        Assert.Contains("antenna 7 does not exist", stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "reader URI is missing")]
    [InlineData(new[] { "llrp://h", "--limit", "x" }, "--limit 'x'")]
    [InlineData(new[] { "ftp://h" }, "scheme 'ftp'")]
    [InlineData(new[] { "llrp://h?session=9" }, "'session'")]
    public async Task Bad_arguments_exit_two(string[] args, string expected)
    {
        var stderr = new StringWriter();

        var code = await TapCommand.RunAsync(args, new StringWriter(), stderr, CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Contains(expected, stderr.ToString(), StringComparison.Ordinal);
    }
}
