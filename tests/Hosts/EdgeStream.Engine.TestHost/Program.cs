using System.Globalization;
using EdgeStream.Engine.Checkpoints;
using EdgeStream.Engine.Sources.EventLog;
using EdgeStream.EventLog;
using EdgeStream.EventLog.Embedded;
using EdgeStream.EventLog.Kafka;

namespace EdgeStream.Engine.TestHost;

/// <summary>
/// A stream-service process for crash and scale-out tests: runs <see cref="CountJob"/> with a shared
/// <see cref="FileCheckpointStore"/> and durable file sinks, over one of three logs (<c>--log-kind</c>):
/// <c>file</c> (a <see cref="FileLog"/>; partitions come from <c>--partitions</c> and from commands on
/// stdin, <c>assign 0,1</c>, <c>revoke 0</c>, standing in for a consumer group's rebalances), or the
/// product's event log, <c>embedded</c> (folder <c>--log</c>) or <c>kafka</c> (<c>--bootstrap</c>,
/// <c>--topic</c>), where the consumer group <c>--group</c> assigns the partitions. With
/// <c>--bounded</c> or <c>--exit-when-ended</c> the run is bounded: each partition is read up to the end it had at start.
/// It reports on stdout (<c>assigned P at OFFSET</c>, <c>revoked P</c>, <c>ended P</c>); <c>exit</c> on stdin stops it.
/// With ENGINE_HOST_VERBOSE=1 it prints each partition's status to stderr once a second.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var kind = Arg("--log-kind") ?? "file";
        var log = Arg("--log") ?? (kind == "kafka" ? "" : throw new ArgumentException("--log FOLDER is required"));
        var checkpoints = Arg("--checkpoints") ?? throw new ArgumentException("--checkpoints FOLDER is required");
        var output = Arg("--out") ?? throw new ArgumentException("--out FILE is required");
        var partitionCount = int.Parse(Arg("--partition-count") ?? "1", CultureInfo.InvariantCulture);
        var initial = ParseList(Arg("--partitions") ?? "");
        var intervalMs = int.Parse(Arg("--checkpoint-ms") ?? "50", CultureInfo.InvariantCulture);
        var paceMs = int.Parse(Arg("--pace-ms") ?? "0", CultureInfo.InvariantCulture);
        var exitWhenEnded = args.Contains("--exit-when-ended");
        var bounded = exitWhenEnded || args.Contains("--bounded");

        var options = new EngineOptions
        {
            OutOfOrdernessUs = 50_000,
            AllowedLatenessUs = 20_000,
            CheckpointInterval = TimeSpan.FromMilliseconds(intervalMs),
            RetainedCheckpoints = 3,
            KeyGroupCount = 64,
            PollInterval = TimeSpan.FromMilliseconds(20),
            ReadBatchSize = 256,

            // Small copy steps so that crash tests also kill processes in the middle of incremental copies.
            CheckpointCopyChunk = 128,
        };
        using var sink = new FileOutputSink(output);
        using var side = new FileSideOutput(output + ".side");
        var store = new FileCheckpointStore(checkpoints, options.RetainedCheckpoints);

        IEventLog? eventLog = kind switch
        {
            "file" => null,
            "embedded" => EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = log, Partitions = partitionCount }),
            "kafka" => await KafkaEventLog.OpenAsync(new KafkaLogOptions
            {
                BootstrapServers = Arg("--bootstrap") ?? throw new ArgumentException("--bootstrap HOST:PORT is required with --log-kind kafka"),
                Topic = Arg("--topic") ?? "engine-test",
                Partitions = partitionCount,
                ReplicationFactor = 1,
                CreateTopic = false,
                SessionTimeoutMs = 3000,
            }),
            _ => throw new ArgumentException($"--log-kind '{kind}' is not known; use file, embedded or kafka"),
        };
        EventLogSource? logSource = null;
        IPartitionedSource source;
        if (eventLog is null)
        {
            source = new FileLog(log, partitionCount, TimeSpan.FromMilliseconds(paceMs));
        }
        else
        {
            long?[]? ends = null;
            if (bounded)
            {
                ends = new long?[eventLog.PartitionCount];
                for (var p = 0; p < ends.Length; p++)
                {
                    ends[p] = (await eventLog.GetOffsetsAsync(p)).End;
                }
            }

            logSource = new EventLogSource(eventLog, new EventLogSourceOptions
            {
                GroupId = Arg("--group") ?? "engine-test",
                EndAt = ends is null ? null : p => ends[p],
            });
            source = new PacedSource(logSource, TimeSpan.FromMilliseconds(paceMs));
        }

        var runner = new StreamRunner<CountEvent, ulong, CountState, Summary>(new CountJob(), options, source, sink, side, store);
        try
        {
            return await RunAsync(runner, logSource, initial, exitWhenEnded, partitionCount);
        }
        finally
        {
            // Leaving the group first revokes the partitions with final checkpoints.
            if (logSource is not null)
            {
                await logSource.DisposeAsync();
            }

            await runner.DisposeAsync();
            if (eventLog is not null)
            {
                await eventLog.DisposeAsync();
            }
        }
    }

    private static async Task<int> RunAsync(StreamRunner<CountEvent, ulong, CountState, Summary> runner, EventLogSource? logSource, List<int> initial, bool exitWhenEnded, int partitionCount)
    {
        var reported = new HashSet<int>();
        var lastReport = 0L;
        async Task AssignAsync(IReadOnlyList<int> partitions)
        {
            await runner.AssignAsync(partitions, CancellationToken.None);
            foreach (var s in runner.Status().Where(s => partitions.Contains(s.Partition)))
            {
                Console.WriteLine($"assigned {s.Partition} at {s.NextOffset}");
            }
        }

        if (logSource is not null)
        {
            logSource.Start((partitions, ct) => AssignAsync(partitions), async (partitions, ct) =>
            {
                await runner.RevokeAsync(partitions, ct);
                foreach (var p in partitions)
                {
                    Console.WriteLine($"revoked {p}");
                }
            });
        }
        else if (initial.Count > 0)
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

            if (Environment.GetEnvironmentVariable("ENGINE_HOST_VERBOSE") == "1" && Environment.TickCount64 / 1000 != lastReport)
            {
                lastReport = Environment.TickCount64 / 1000;
                foreach (var s in runner.Status())
                {
                    Console.Error.WriteLine($"status {s.Partition} next {s.NextOffset} end {s.EndOffset} events {s.Events} ended {s.Ended} faulted {s.Faulted} discarded {logSource?.DiscardedRecords} assignFailures {logSource?.AssignFailures} fault {logSource?.Fault?.Message}");
                }
            }

            var assigned = runner.Assigned;
            var complete = logSource is null ? assigned.Count > 0 : assigned.Count == partitionCount;
            if (exitWhenEnded && complete && assigned.All(reported.Contains))
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
            if (logSource is not null && parts[0] is "assign" or "revoke")
            {
                Console.WriteLine("refused: the consumer group assigns partitions");
            }
            else if (parts[0] == "assign")
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
