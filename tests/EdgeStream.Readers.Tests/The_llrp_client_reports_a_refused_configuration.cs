using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>A configuration the reader refuses (an antenna it does not have) is reported with the reader's own description, and retried.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_reports_a_refused_configuration
{
    [Fact]
    public async Task Non_success_status_is_surfaced_with_its_description()
    {
        await using var run = await Emulated.StartAsync("antennas=1,9");

        await Wait.UntilAsync(() => run.Sink.Count(ReaderEventKind.Error) >= 2, run.Sink.Describe);

        var error = run.Sink.Events.First(e => e.Kind == ReaderEventKind.Error);
        Assert.Contains("refused ADD_ROSPEC", error.Message, StringComparison.Ordinal);
        Assert.Contains("OutOfRange: antenna 9 does not exist", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, run.Counters.Connects);
        Assert.Equal(0, run.Sink.ReadCount);
    }
}
