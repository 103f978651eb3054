using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeStream.Engine.TestHost;
using EdgeStream.EventLog;

namespace EdgeStream.Engine.TestHost;

/// <summary>Temp folders of a run: the log, checkpoint stores, outputs; deleted on dispose.</summary>
public sealed class EngineRunFolders : IDisposable
{
    private EngineRunFolders(string root)
    {
        Root = root;
        Log = Path.Combine(root, "log");
        Directory.CreateDirectory(Log);
    }

    public string Root { get; }

    public string Log { get; }

    public static EngineRunFolders Create(string name) =>
        new(Path.Combine(Path.GetTempPath(), $"engine-{name}-{Guid.NewGuid():N}"));

    /// <summary>A file path under the run's root.</summary>
    public string File(string name) => Path.Combine(Root, name);

    /// <summary>A new checkpoint folder under the run's root.</summary>
    public string CheckpointFolder(string name)
    {
        var path = Path.Combine(Root, name);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Writes a run's log: events of several sources, delivered shuffled within the out-of-orderness
    /// bound, every twentieth twice, and every 997th some 3,000 events late (beyond the allowed
    /// lateness); spread over partitions by key.
    /// </summary>
    public void WriteLog(int seed, int events, int partitions)
    {
        var delivered = Delivered(seed, events);
        for (var p = 0; p < partitions; p++)
        {
            FileLog.Write(Log, p, delivered.Where(e => TestData.PartitionOf(e.Key, partitions) == p).Select(e => (e.KeyBytes(), e.ValueBytes())));
        }
    }

    /// <summary>Appends the same delivery as <see cref="WriteLog"/> to an event log (partitioned by the log, by key).</summary>
    public static async Task AppendAsync(IEventLog log, int seed, int events)
    {
        var delivered = Delivered(seed, events);
        foreach (var chunk in delivered.Chunk(5_000))
        {
            await log.AppendAsync([.. chunk.Select(e => new LogMessage(e.KeyBytes(), e.ValueBytes(), e.Time))]);
        }
    }

    private static List<CountEvent> Delivered(int seed, int events)
    {
        var shuffled = TestData.ShuffleWithinBound(TestData.Generate(seed, events, keys: 1_500, sources: 6, maxStepUs: 1_000), 50_000, seed + 1);
        var deferred = new Dictionary<int, CountEvent>();
        var delivered = new List<CountEvent>(shuffled.Count + (shuffled.Count / 20));
        for (var i = 0; i < shuffled.Count; i++)
        {
            if (i % 997 == 5 && i + 3_000 < shuffled.Count)
            {
                deferred[i + 3_000] = shuffled[i];
            }
            else
            {
                delivered.Add(shuffled[i]);
                if (i % 20 == 0)
                {
                    delivered.Add(shuffled[i]);
                }
            }

            if (deferred.Remove(i, out var late))
            {
                delivered.Add(late);
            }
        }

        return delivered;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
