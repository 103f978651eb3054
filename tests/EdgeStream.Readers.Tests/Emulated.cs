using EdgeStream.Emulators;
using EdgeStream.Readers;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers.Tests;

/// <summary>Starts an LLRP emulator and a driver against it, and tears both down.</summary>
internal sealed class Emulated : IAsyncDisposable
{
    /// <summary>Two tags that are always in view, one per antenna 1 and 2, a read every 50 ms.</summary>
    public static readonly Scenario Busy = Scenario.Parse("""
        { "name": "busy", "tickMs": 50, "antennas": 4, "periodMs": 1000,
          "tags": [
            { "epc": "300833B2DDD9014000000001", "sightings": [ { "antenna": 1, "fromMs": 0, "toMs": 1000, "rssiFrom": -70, "rssiPeak": -40, "rssiTo": -70 } ] },
            { "epc": "E2801160600002", "sightings": [ { "antenna": 2, "fromMs": 0, "toMs": 1000 } ] }
          ] }
        """);

    /// <summary>A tag that only comes into view after a minute: the link carries keepalives alone.</summary>
    public static readonly Scenario Quiet = Scenario.Parse("""
        { "name": "quiet", "tickMs": 50, "tags": [ { "epc": "300833B2DDD9014000000009", "sightings": [ { "antenna": 1, "fromMs": 60000, "toMs": 61000 } ] } ] }
        """);

    private readonly CancellationTokenSource _stop = new();

    private Emulated(LlrpEmulator emulator, IReaderDriver driver, TestSink sink, Task run)
    {
        Emulator = emulator;
        Driver = driver;
        Sink = sink;
        Run = run;
    }

    public LlrpEmulator Emulator { get; }

    public IReaderDriver Driver { get; }

    public TestSink Sink { get; }

    public Task Run { get; private set; }

    public ReaderCounters Counters => ((EdgeStream.Readers.Llrp.LlrpReaderDriver)Driver).Counters;

    public static async Task<Emulated> StartAsync(string query = "", LlrpFaults? faults = null, Scenario? scenario = null)
    {
        var emulator = new LlrpEmulator(new LlrpEmulatorOptions { Scenario = scenario ?? Busy, Loop = true, Faults = faults ?? LlrpFaults.None });
        await emulator.StartAsync();
        // Short keepalives so tests see several, but a generous deadline (5 s) unless a test sets its
        // own: on a loaded machine a fresh process can pause for longer than a few keepalive intervals.
        var settings = new Dictionary<string, string>
        {
            ["keepalive-ms"] = "200",
            ["dead-after"] = "25",
            ["backoff-min-ms"] = "20",
            ["backoff-max-ms"] = "200",
            ["response-timeout-ms"] = "20000",
        };
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            settings[kv[0]] = kv[1];
        }

        var q = string.Join('&', settings.Select(kv => $"{kv.Key}={kv.Value}"));
        var driver = ReaderDrivers.Create($"llrp://127.0.0.1:{emulator.Port}?{q}", "dock-1", NullLoggerFactory.Instance);
        var sink = new TestSink();
        var result = new Emulated(emulator, driver, sink, Task.CompletedTask);
        result.Run = Task.Run(() => driver.RunAsync(sink, result._stop.Token));
        return result;
    }

    /// <summary>Stops the driver and waits for it to return.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        await Driver.DisposeAsync();
        await Emulator.DisposeAsync();
        _stop.Dispose();
    }
}
