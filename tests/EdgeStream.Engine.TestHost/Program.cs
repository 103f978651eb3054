using System.Globalization;
using EdgeStream.Engine.Checkpoints;

namespace EdgeStream.Engine.TestHost;

/// <summary>
/// A stream-service process for crash and scale-out tests: runs <see cref="CountJob"/> over a
/// <see cref="FileLog"/> with a shared <see cref="FileCheckpointStore"/> and durable file sinks.
/// Partitions come from <c>--partitions</c> and from commands on stdin (<c>assign 0,1</c>,
/// <c>revoke 0</c>, <c>exit</c>), standing in for a consumer group's rebalances. It reports on stdout
/// (<c>assigned P</c>, <c>ended P</c>, <c>checkpoint P ID</c>).
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var log = Arg("--log") ?? throw new ArgumentException("--log FOLDER is required");
        var checkpoints = Arg("--checkpoints") ?? throw new ArgumentException("--checkpoints FOLDER is required");
        var output = Arg("--out") ?? throw new ArgumentException("--out FILE is required");
        var partitionCount = int.Parse(Arg("--partition-count") ?? "1", CultureInfo.InvariantCulture);
        var initial = ParseList(Arg("--partitions") ?? "");
        var intervalMs = int.Parse(Arg("--checkpoint-ms") ?? "50", CultureInfo.InvariantCulture);
        var paceMs = int.Parse(Arg("--pace-ms") ?? "0", CultureInfo.InvariantCulture);
        var exitWhenEnded = args.Contains("--exit-when-ended");

        var options = new EngineOptions
        {
            OutOfOrdernessUs = 50_000,
            AllowedLatenessUs = 20_000,
            CheckpointInterval = TimeSpan.FromMilliseconds(intervalMs),
            RetainedCheckpoints = 3,
            KeyGroupCount = 64,
            PollInterval = TimeSpan.FromMilliseconds(20),

            // Small copy steps so that crash tests also kill processes in the middle of incremental copies.
            CheckpointCopyChunk = 128,
        };
        using var sink = new FileOutputSink(output);
        using var side = new FileSideOutput(output + ".side");
        var store = new FileCheckpointStore(checkpoints, options.RetainedCheckpoints);
        var source = new FileLog(log, partitionCount, TimeSpan.FromMilliseconds(paceMs));
        await using var runner = new StreamRunner<CountEvent, ulong, CountState, Summary>(new CountJob(), options, source, sink, side, store);

        var reported = new HashSet<int>();
        async Task AssignAsync(IReadOnlyList<int> partitions)
        {
            await runner.AssignAsync(partitions, CancellationToken.None);
            foreach (var s in runner.Status().Where(s => partitions.Contains(s.Partition)))
            {
                Console.WriteLine($"assigned {s.Partition} at {s.NextOffset}");
            }
        }

        if (initial.Count > 0)
        {
            await AssignAsync(initial);
        }

        var commands = Task.Run(Console.In.ReadLineAsync);
        while (true)
        {
            foreach (var s in runner.Status())
            {
                if (s.Ended && s.CheckpointsCompleted > 0 && reported.Add(s.Partition))
                {
                    Console.WriteLine($"ended {s.Partition}");
                }
            }

            var assigned = runner.Assigned;
            if (exitWhenEnded && assigned.Count > 0 && assigned.All(reported.Contains))
            {
                await runner.WhenAllEndedAsync();
                return 0;
            }

            var done = await Task.WhenAny(commands, Task.Delay(20));
            if (done != commands)
            {
                continue;
            }

            var line = await commands;
            if (line is null || line == "exit")
            {
                return 0;
            }

            var parts = line.Split(' ', 2);
            if (parts[0] == "assign")
            {
                await AssignAsync(ParseList(parts[1]));
            }
            else if (parts[0] == "revoke")
            {
                await runner.RevokeAsync(ParseList(parts[1]), CancellationToken.None);
                Console.WriteLine($"revoked {parts[1]}");
            }

            commands = Task.Run(Console.In.ReadLineAsync);
        }
    }

    private static List<int> ParseList(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
}
