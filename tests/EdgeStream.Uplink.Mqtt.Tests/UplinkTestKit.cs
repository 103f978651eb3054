using System.Buffers.Binary;
using EdgeStream.Contracts;
using EdgeStream.Outbox;
using EdgeStream.Outbox.Storage;
using EdgeStream.Uplink.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Uplink.Mqtt.Tests;

/// <summary>An outbox on a temp folder and an uplink to a given broker, for one test.</summary>
internal sealed class EdgeUnderTest : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _uplinkRun;
    private readonly TempDirectory _dir = new("es-edge-");

    public EdgeUnderTest(Uri broker, string gatewayId = "gw-it-01", Func<UplinkOptions, UplinkOptions>? tweak = null, long? holdbackUs = null)
    {
        Outbox = global::EdgeStream.Outbox.Outbox.Open(
            new OutboxOptions { GatewayId = gatewayId, CommitInterval = TimeSpan.FromMilliseconds(20), Reads = new DataClassOptions { MaxBatchRecords = 500 } },
            new FileOutboxStorage(Dir),
            NullLogger.Instance);
        var options = new UplinkOptions
        {
            GatewayId = gatewayId,
            Broker = broker,
            RetryMinDelay = TimeSpan.FromMilliseconds(100),
            RetryMaxDelay = TimeSpan.FromSeconds(1),
            BreakDuration = TimeSpan.FromSeconds(1),
            BreakerFailures = 3,
            KeepAlive = TimeSpan.FromSeconds(2),
            Timeout = TimeSpan.FromSeconds(3),
        };
        Uplink = new MqttUplink(tweak is null ? options : tweak(options), Outbox, Log, holdbackUs: holdbackUs);
        _uplinkRun = Task.Run(() => Uplink.RunAsync(_stop.Token));
    }

    public string Dir => _dir.Path;

    public global::EdgeStream.Outbox.Outbox Outbox { get; }

    public MqttUplink Uplink { get; }

    public TestLog Log { get; } = new();

    public static TagRead Read(long id)
    {
        var epc = new byte[12];
        epc[0] = 0xE5;
        BinaryPrimitives.WriteInt64BigEndian(epc.AsSpan(4), id);
        return new TagRead
        {
            Epc = Epc.FromBytes(epc),
            ReaderId = "dock-1",
            Antenna = 1,
            RssiCentiDbm = -5000,
            EventTimeUs = 1_764_000_000_000_000 + id,
            Source = SourceKind.Llrp,
            SeenCount = 1,
        };
    }

    public async Task AppendAsync(long first, int count)
    {
        var reads = new TagRead[count];
        for (var i = 0; i < count; i++)
        {
            reads[i] = Read(first + i);
        }

        await Outbox.AppendReadsAsync(reads, default);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _uplinkRun;
        }
        catch (OperationCanceledException)
        {
        }

        await Outbox.DisposeAsync();
        _stop.Dispose();
        _dir.Dispose();
    }
}

/// <summary>Log lines kept for assertions and for the failure message.</summary>
internal sealed class TestLog : Microsoft.Extensions.Logging.ILogger
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");

    public bool Contains(string fragment) => Lines.Any(l => l.Contains(fragment, StringComparison.Ordinal));
}

