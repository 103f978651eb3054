using System.Text;

namespace EdgeStream.EventLog.Tests;

/// <summary>Messages for the log and reading them back.</summary>
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
