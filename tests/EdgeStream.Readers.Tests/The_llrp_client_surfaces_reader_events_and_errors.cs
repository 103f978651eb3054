using EdgeStream.Llrp.Model;
using EdgeStream.Readers;

namespace EdgeStream.Readers.Tests;

/// <summary>Reader notifications (ROSpec, antenna, buffer, exception) and ERROR_MESSAGEs reach the sink as events, with the reader's words.</summary>
[Trait("Capability", "Readers")]
public sealed class The_llrp_client_surfaces_reader_events_and_errors
{
    [Fact]
    public async Task Notifications_and_errors_become_reader_events()
    {
        await using var run = await Emulated.StartAsync(scenario: Emulated.Quiet);
        await Wait.UntilAsync(() => run.Counters.Connects == 1, run.Sink.Describe);

        await run.Emulator.NotifyAsync(new ReaderEventNotificationData { AntennaEvent = new AntennaEvent(0, 3) });
        await run.Emulator.NotifyAsync(new ReaderEventNotificationData { ReportBufferLevelWarningEvent = new ReportBufferLevelWarningEvent(85) });
        await run.Emulator.NotifyAsync(new ReaderEventNotificationData { ReaderExceptionEvent = new ReaderExceptionEvent("antenna 3 VSWR high") });
        await run.Emulator.SendErrorMessageAsync(LlrpStatusCode.DeviceError, "RF module overheated");

        await Wait.UntilAsync(() => run.Sink.Count(ReaderEventKind.Notification) >= 4 && run.Sink.Count(ReaderEventKind.Error) >= 1, run.Sink.Describe);

        var notes = run.Sink.Events.Where(e => e.Kind == ReaderEventKind.Notification).Select(e => e.Message).ToList();
        Assert.Contains("ROSpec 1 started", notes);
        Assert.Contains("antenna 3 disconnected", notes);
        Assert.Contains("report buffer 85% full", notes);
        Assert.Contains("reader exception: antenna 3 VSWR high", notes);
        Assert.Contains(run.Sink.Events, e => e.Kind == ReaderEventKind.Error && e.Message.EndsWith("DeviceError: RF module overheated", StringComparison.Ordinal));
        Assert.Equal(1, run.Counters.Connects);
    }
}
