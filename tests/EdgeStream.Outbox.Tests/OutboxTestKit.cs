using System.Buffers.Binary;
using System.Collections.Concurrent;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Outbox;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Outbox.Tests;

/// <summary>Shared pieces of the store-and-forward unit tests.</summary>
internal static class OutboxTestKit
{
    public const string Gateway = "gw-test-01";

    /// <summary>A read whose EPC carries <paramref name="id"/>, so every read is identifiable after a round trip.</summary>
    public static TagRead Read(long id)
    {
        Span<byte> epc = stackalloc byte[12];
        epc[0] = 0xE5;
        BinaryPrimitives.WriteInt64BigEndian(epc[4..], id);
        return new TagRead
        {
            Epc = Epc.FromBytes(epc),
            ReaderId = "dock-1",
            Antenna = (ushort)(1 + (id % 4)),
            RssiCentiDbm = (short)(-4000 - (id % 3000)),
            EventTimeUs = 1_764_000_000_000_000 + (id * 1000),
            Source = SourceKind.Llrp,
            SeenCount = 1,
        };
    }

    public static long IdOf(TagRead r) => BinaryPrimitives.ReadInt64BigEndian(r.Epc.ToArray().AsSpan(4));

    public static TagRead[] Reads(long first, int count) => Enumerable.Range(0, count).Select(i => Read(first + i)).ToArray();

    public static PresenceEvent Event(long id) => new()
    {
        Epc = Read(id).Epc,
        Kind = PresenceKind.Arrive,
        Zone = "dock",
        EventTimeUs = 1_764_000_000_000_000 + id,
        ReadCount = 3,
        PeakRssiCentiDbm = -4500,
        MeanRssiCentiDbm = -5000,
    };

    /// <summary>Every batch waiting in the outbox, decoded, in sequence order per class.</summary>
    public static List<Batch> Pending(global::EdgeStream.Outbox.Outbox outbox, DataClass dataClass)
    {
        var list = new List<Batch>();
        ulong after = 0;
        while (outbox.TryGetNext(dataClass, after, ulong.MaxValue, out var b))
        {
            var payload = outbox.ReadPayload(b) ?? throw new InvalidOperationException($"Batch {b.Sequence} could not be read back.");
            var batch = BatchCodec.Decode(payload);
            Assert.Equal(b.Sequence, batch.Sequence);
            list.Add(batch);
            after = b.Sequence;
        }

        return list;
    }

    public static OutboxOptions SmallOptions(Func<OutboxOptions, OutboxOptions>? tweak = null)
    {
        var o = new OutboxOptions
        {
            GatewayId = Gateway,
            CommitInterval = TimeSpan.FromMilliseconds(20),
            SegmentBytes = 64 * 1024,
            MaxBytes = 64L * 1024 * 1024,
            Reads = new DataClassOptions { MaxBatchRecords = 200, DropOrder = 0 },
            Presence = new DataClassOptions { MaxBatchRecords = 50, DropOrder = 1 },
        };
        return tweak is null ? o : tweak(o);
    }

    public static async Task WaitUntil(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {seconds} s waiting for: {what}");
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>Captures log lines so tests can check that nothing is dropped without saying so.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception)));

    public bool Contains(LogLevel level, string fragment) => Lines.Any(l => l.Level == level && l.Message.Contains(fragment, StringComparison.Ordinal));
}

/// <summary>A wall clock the test moves by hand (timers still run on the system clock).</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}
