using EdgeStream.Engine;
using EdgeStream.Engine.Sources.EventLog;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;

namespace EdgeStream.Engine.Sources.EventLog.Tests;

/// <summary>
/// The event-log source's reader contract on a real embedded log: records in offset order from the
/// offset the reader was opened at, <c>CaughtUp</c> only once the log's end is reached, <c>Ended</c> at a
/// bounded run's end.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class The_event_log_source : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"engine-source-{Guid.NewGuid():N}");

    [Fact]
    public async Task A_reader_returns_the_records_from_its_offset_in_order_then_reports_caught_up()
    {
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = _dir, Partitions = 1 });
        await log.AppendAsync([.. Enumerable.Range(0, 300).Select(i => new LogMessage(new byte[] { 1 }, BitConverter.GetBytes(i), i))]);

        var (offsets, values, status) = await ReadAllAsync(log, new EventLogSourceOptions { GroupId = "g1", EndOffsetRefresh = TimeSpan.FromMilliseconds(20) }, startAt: 40, expected: 260);

        Assert.Equal(Enumerable.Range(40, 260).Select(i => (long)i), offsets);
        Assert.Equal(Enumerable.Range(40, 260), values);
        Assert.Equal(ReadStatus.CaughtUp, status);
    }

    [Fact]
    public async Task A_bounded_run_stops_at_its_end_offset_and_reports_ended()
    {
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = _dir, Partitions = 1 });
        await log.AppendAsync([.. Enumerable.Range(0, 300).Select(i => new LogMessage(new byte[] { 1 }, BitConverter.GetBytes(i), i))]);

        var (offsets, _, status) = await ReadAllAsync(log, new EventLogSourceOptions { GroupId = "g2", EndAt = _ => 120 }, startAt: 0, expected: 120);

        Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), offsets);
        Assert.Equal(ReadStatus.Ended, status);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>Joins the group with a handler that opens the partition's reader at <paramref name="startAt"/>, reads <paramref name="expected"/> records, then one more read.</summary>
    private static async Task<(List<long> Offsets, List<int> Values, ReadStatus After)> ReadAllAsync(IEventLog log, EventLogSourceOptions options, long startAt, int expected)
    {
        await using var source = new EventLogSource(log, options);
        var opened = new TaskCompletionSource<IPartitionReader>(TaskCreationOptions.RunContinuationsAsynchronously);
        source.Start(
            (partitions, _) =>
            {
                opened.TrySetResult(source.OpenReader(partitions[0], startAt));
                return Task.CompletedTask;
            },
            (_, _) => Task.CompletedTask);
        await using var reader = await opened.Task.WaitAsync(Generous);

        var offsets = new List<long>();
        var values = new List<int>();
        var batch = new RecordBatch(64);
        using var cts = new CancellationTokenSource(Generous);
        while (offsets.Count < expected)
        {
            await reader.ReadAsync(batch, TimeSpan.FromMilliseconds(50), cts.Token);
            for (var i = 0; i < batch.Count; i++)
            {
                offsets.Add(batch.OffsetAt(i));
                values.Add(BitConverter.ToInt32(batch.ValueAt(i)));
            }
        }

        // Past the last record: the end offset is looked up periodically, so wait for the reader to see it.
        ReadStatus after;
        do
        {
            after = await reader.ReadAsync(batch, TimeSpan.FromMilliseconds(50), cts.Token);
            Assert.Equal(0, batch.Count);
        }
        while (after == ReadStatus.Records);

        return (offsets, values, after);
    }
}
