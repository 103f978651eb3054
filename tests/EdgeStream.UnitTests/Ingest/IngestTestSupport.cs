using System.Text;
using EdgeStream.EventLog;

namespace EdgeStream.Tests.Ingest;

/// <summary>A temporary folder removed when the test ends.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "edgestream-ingest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}

internal static class LogTestData
{
    public static LogMessage Message(string key, string value, long ts = 1_764_000_000_000_000) =>
        new(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), ts);

    public static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>Consumes until <paramref name="count"/> records arrived (copied out), or fails after a generous timeout.</summary>
    public static async Task<List<(int Partition, long Offset, string Key, string Value, long Ts)>> ConsumeAsync(IEventLogConsumer consumer, int count, TimeSpan? timeout = null)
    {
        var result = new List<(int, long, string, string, long)>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (result.Count < count)
        {
            cts.Token.ThrowIfCancellationRequested();
            foreach (var r in await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), cts.Token))
            {
                result.Add((r.Partition, r.Offset, Text(r.Key), Text(r.Value), r.TimestampUs));
            }
        }

        return result;
    }
}
