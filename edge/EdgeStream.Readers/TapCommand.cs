using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeStream.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers;

/// <summary>
/// The installer's probe: <c>tap &lt;reader-uri&gt; [--limit N] [--timeout SECONDS] [--reader-id ID]</c>.
/// Connects to one reader, configures it, and prints one JSON object per read on stdout
/// (<c>epc</c>, <c>antenna</c>, <c>rssi</c> in dBm, <c>time</c> ISO-8601 UTC with microseconds, <c>reader</c>).
/// Diagnostics go to stderr. Exit 0 after <c>--limit</c> reads or at <c>--timeout</c>; 1 with a one-line
/// reason when the reader cannot be reached or configured; 2 for bad arguments.
/// </summary>
public static class TapCommand
{
    private const string Usage = "usage: tap <reader-uri> [--limit N] [--timeout SECONDS] [--reader-id ID]";

    /// <summary>Runs the probe.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        string? uri = null;
        long limit = long.MaxValue;
        var timeout = TimeSpan.FromSeconds(30);
        string? readerId = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option '{args[i]}' needs a value");
            try
            {
                switch (args[i])
                {
                    case "--limit":
                        var l = Value();
                        limit = long.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"--limit '{l}' must be a positive integer");
                        break;
                    case "--timeout":
                        var t = Value();
                        timeout = double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 86400
                            ? TimeSpan.FromSeconds(s)
                            : throw new ArgumentException($"--timeout '{t}' must be a number of seconds, 0 < s <= 86400");
                        break;
                    case "--reader-id":
                        readerId = Value();
                        break;
                    case "-h" or "--help":
                        await stderr.WriteLineAsync(Usage);
                        return 0;
                    default:
                        if (args[i].StartsWith("--", StringComparison.Ordinal) || uri is not null)
                        {
                            throw new ArgumentException($"unexpected argument '{args[i]}'");
                        }

                        uri = args[i];
                        break;
                }
            }
            catch (ArgumentException ex)
            {
                await stderr.WriteLineAsync($"tap: {ex.Message}. {Usage}");
                return 2;
            }
        }

        if (uri is null)
        {
            await stderr.WriteLineAsync($"tap: the reader URI is missing. {Usage}");
            return 2;
        }

        IReaderDriver driver;
        try
        {
            // The probe reports the first failure instead of retrying for ever, and never waits on a
            // connection longer than the whole run may take.
            var target = ReaderDrivers.Parse(uri);
            var settings = target.Settings with
            {
                ConnectTimeout = target.Settings.ConnectTimeout < timeout ? target.Settings.ConnectTimeout : timeout,
            };
            readerId ??= target.Kind == ReaderKind.Llrp ? $"{target.Host}:{target.Port}" : target.Path;
            driver = ReaderDrivers.Create(uri, readerId, NullLoggerFactory.Instance, settings);
        }
        catch (ArgumentException ex)
        {
            await stderr.WriteLineAsync($"tap: {ex.Message}");
            return 2;
        }

        await using (driver)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var sink = new TapSink(stdout, stderr, limit, stop);
            stop.CancelAfter(timeout);
            try
            {
                await driver.RunAsync(sink, stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }

            await stdout.FlushAsync(CancellationToken.None);
            if (sink.Failure is { } failure)
            {
                await stderr.WriteLineAsync($"tap: {failure}");
                return 1;
            }

            if (!sink.Connected)
            {
                await stderr.WriteLineAsync($"tap: reader {uri} was not connected and configured within {timeout.TotalSeconds:0.###} s.");
                return 1;
            }

            await stderr.WriteLineAsync($"tap: {sink.Printed} read(s).");
            return 0;
        }
    }

    private sealed class TapSink(TextWriter stdout, TextWriter stderr, long limit, CancellationTokenSource stop) : IReadSink
    {
        private readonly Lock _gate = new();
        private readonly MemoryStream _line = new();

        public long Printed { get; private set; }

        public bool Connected { get; private set; }

        public string? Failure { get; private set; }

        public async ValueTask WriteAsync(ReadOnlyMemory<TagRead> reads, CancellationToken cancellationToken)
        {
            var text = new StringBuilder();
            lock (_gate)
            {
                foreach (var r in reads.Span)
                {
                    if (Printed >= limit)
                    {
                        break;
                    }

                    text.Append(Format(r)).Append('\n');
                    Printed++;
                }
            }

            if (text.Length > 0)
            {
                await stdout.WriteAsync(text, CancellationToken.None);
                await stdout.FlushAsync(CancellationToken.None);
            }

            if (Printed >= limit)
            {
                await stop.CancelAsync();
            }
        }

        public void OnEvent(ReaderEvent readerEvent)
        {
            lock (_gate)
            {
                stderr.WriteLine($"tap: {readerEvent.Kind.ToString().ToLowerInvariant()}: {readerEvent.Message}");
                if (readerEvent.Kind == ReaderEventKind.Connected)
                {
                    Connected = true;
                }
                else if (readerEvent.Kind == ReaderEventKind.Error && !Connected && Failure is null)
                {
                    Failure = readerEvent.Message;
                    stop.Cancel();
                }
            }
        }

        private string Format(in TagRead r)
        {
            _line.SetLength(0);
            using (var json = new Utf8JsonWriter(_line))
            {
                json.WriteStartObject();
                json.WriteString("epc", r.Epc.ToString());
                json.WriteNumber("antenna", r.Antenna);
                if (r.RssiDbm is { } dbm)
                {
                    json.WriteNumber("rssi", dbm);
                }
                else
                {
                    json.WriteNull("rssi");
                }

                json.WriteString("time", EventTimes.ToIso(r.EventTimeUs));
                json.WriteString("reader", r.ReaderId);
                json.WriteEndObject();
            }

            return Encoding.UTF8.GetString(_line.GetBuffer(), 0, (int)_line.Length);
        }
    }
}
