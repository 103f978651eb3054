using System.Buffers.Binary;
using System.Globalization;
using EdgeStream.Contracts;
using EdgeStream.Readers;

namespace EdgeStream.Edge.Readers;

/// <summary>Settings of a simulated reader, from <c>sim://?rate=N&amp;tags=M&amp;antennas=A&amp;run=R&amp;id=NAME</c>.</summary>
public sealed record SimulatedReaderOptions
{
    /// <summary>Reads per second (1..10,000,000).</summary>
    public double Rate { get; init; } = 100;

    /// <summary>Distinct tags cycled through; 0 = every read a new tag (a conveyor of tags never seen twice).</summary>
    public long Tags { get; init; } = 100;

    /// <summary>Antennas 1..N the reads rotate over.</summary>
    public int Antennas { get; init; } = 4;

    /// <summary>A number stamped into every EPC (bytes 2..3), to tell runs apart.</summary>
    public ushort Run { get; init; }

    /// <summary>Parses the URI.</summary>
    /// <exception cref="ArgumentException">A parameter is unknown or out of range.</exception>
    public static SimulatedReaderOptions Parse(string uri)
    {
        var o = new SimulatedReaderOptions();
        var q = uri.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return o;
        }

        foreach (var part in uri[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? string.Empty : part[(eq + 1)..];
            o = key switch
            {
                "rate" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r is > 0 and <= 10_000_000 => o with { Rate = r },
                "tags" when long.TryParse(value, CultureInfo.InvariantCulture, out var t) && t >= 0 => o with { Tags = t },
                "antennas" when int.TryParse(value, CultureInfo.InvariantCulture, out var a) && a is >= 1 and <= 64 => o with { Antennas = a },
                "run" when ushort.TryParse(value, CultureInfo.InvariantCulture, out var run) => o with { Run = run },
                "id" => o,
                _ => throw new ArgumentException($"'{uri}': bad sim parameter '{part}' (rate=1..10000000, tags>=0, antennas=1..64, run=0..65535, id=NAME)."),
            };
        }

        return o;
    }
}

/// <summary>
/// A simulated reader: produces reads at a steady rate in event time, in small groups as a real
/// reader's reports arrive, into the same sink as real drivers. Used for commissioning a gateway's
/// uplink before readers are wired, and for load tests. Read <i>n</i> carries <i>n</i> in EPC bytes
/// 4..11 when <see cref="SimulatedReaderOptions.Tags"/> is 0, so a test can account for every read.
/// </summary>
public sealed class SimulatedReaderDriver(SimulatedReaderOptions options, string readerId, TimeProvider time) : IReaderDriver
{
    /// <summary>URI scheme.</summary>
    public const string Scheme = "sim";

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    /// <inheritdoc/>
    public string ReaderId => readerId;

    /// <summary>Reads produced so far.</summary>
    public long Produced { get; private set; }

    /// <inheritdoc/>
    public async Task RunAsync(IReadSink sink, CancellationToken cancellationToken)
    {
        sink.OnEvent(new ReaderEvent(readerId, ReaderEventKind.Connected, $"simulated reader: {options.Rate} reads/s over {options.Antennas} antennas", EventTimes.NowUs(time)));
        var buffer = new TagRead[Math.Max(16, (int)Math.Min(1_000_000, (options.Rate * 0.05) + 1))];
        var started = time.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var due = (long)(time.GetElapsedTime(started).TotalSeconds * options.Rate);
                if (due <= Produced)
                {
                    await Task.Delay(Tick, time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var n = (int)Math.Min(due - Produced, buffer.Length);
                Fill(buffer.AsSpan(0, n), Produced, EventTimes.NowUs(time));

                await sink.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                Produced += n;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }

        sink.OnEvent(new ReaderEvent(readerId, ReaderEventKind.Disconnected, "simulated reader stopped", EventTimes.NowUs(time)));
    }

    private void Fill(Span<TagRead> reads, long first, long nowUs)
    {
        Span<byte> epc = stackalloc byte[12];
        epc[0] = 0xE5;
        epc[1] = 0x11;
        BinaryPrimitives.WriteUInt16BigEndian(epc[2..], options.Run);
        for (var i = 0; i < reads.Length; i++)
        {
            var counter = first + i;
            BinaryPrimitives.WriteInt64BigEndian(epc[4..], options.Tags == 0 ? counter : counter % options.Tags);
            reads[i] = new TagRead
            {
                Epc = Epc.FromBytes(epc),
                ReaderId = readerId,
                Antenna = (ushort)(1 + (counter % options.Antennas)),
                RssiCentiDbm = (short)(-4000 - ((counter * 37) % 3500)),
                EventTimeUs = nowUs,
                Source = SourceKind.Llrp,
                SeenCount = 1,
            };
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
