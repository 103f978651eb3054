using EdgeStream.Engine.TestHost;
using EdgeStream.EventLog.Kafka;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// Two stream-service processes join one Kafka consumer group (librdkafka's mock cluster) and share a
/// checkpoint store. The group splits the four partitions between them; one is killed with SIGKILL
/// mid-run; once its session expires the group gives its partitions to the survivor, which restores
/// them from the dead member's latest checkpoints (not from the start of the log) and finishes the
/// run. The union of what both wrote equals one uninterrupted run.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class On_kafka_a_survivor_takes_over_a_killed_members_partitions
{
    private const int Partitions = 4;
    private const string Topic = "engine-scaleout";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task The_survivor_gets_the_killed_members_partitions_from_the_group_and_resumes_them_from_checkpoints()
    {
        using var run = EngineRunFolders.Create("scaleout-kafka");
        using var cluster = KafkaMockCluster.Start(brokers: 1);
        cluster.CreateTopic(Topic, Partitions);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(50));
        await using (var log = await KafkaEventLog.OpenAsync(new KafkaLogOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            Topic = Topic,
            Partitions = Partitions,
            ReplicationFactor = 1,
            CreateTopic = false,
            LingerMs = 1,
        }))
        {
            await EngineRunFolders.AppendAsync(log, 61, 120_000);
        }

        EngineHostProcess Start(string checkpoints, string output, string group, int paceMs, bool exitWhenEnded) => EngineHostProcess.Start(
            "", checkpoints, output, Partitions, "", paceMs, exitWhenEnded,
            extra: ["--log-kind", "kafka", "--bootstrap", cluster.BootstrapServers, "--topic", Topic, "--group", group, "--bounded"]);

        var referenceOut = run.File("reference.out");
        using (var reference = Start(run.CheckpointFolder("reference-checkpoints"), referenceOut, "reference", 0, exitWhenEnded: true))
        {
            Assert.Equal(0, await reference.WaitForExitAsync(Generous));
        }

        var expected = FileOutputSink.ReadStore([referenceOut]);
        Assert.Equal(0, expected.Conflicts);

        var shared = run.CheckpointFolder("shared-checkpoints");
        var outA = run.File("a.out");
        var outB = run.File("b.out");
        using var a = Start(shared, outA, "scale", 40, exitWhenEnded: false);
        await a.WaitForLineAsync(l => l.StartsWith("assigned", StringComparison.Ordinal), Generous);
        using var b = Start(shared, outB, "scale", 40, exitWhenEnded: false);

        // The group splits the partitions between the two members.
        using (var cts = new CancellationTokenSource(Generous))
        {
            while (!(Owned(a).Count > 0 && Owned(b).Count > 0 && Owned(a).Count + Owned(b).Count == Partitions))
            {
                await Task.Delay(20, cts.Token);
            }
        }

        var ownedByA = Owned(a);
        Assert.Empty(ownedByA.Intersect(Owned(b)));

        // Let A get on with its share (its sink grows), then kill it.
        var lengthAtSplit = Length(outA);
        using (var cts = new CancellationTokenSource(Generous))
        {
            while (Length(outA) < lengthAtSplit + 20_000 && !ownedByA.All(p => a.Lines.Contains($"ended {p}")))
            {
                await Task.Delay(10, cts.Token);
            }
        }

        await a.KillNineAsync();
        var linesOfBBeforeKill = b.Lines.Count;

        // After A's session expires the group hands its partitions to B, which finishes every partition.
        foreach (var p in Enumerable.Range(0, Partitions))
        {
            await b.WaitForLineAsync(l => l == $"ended {p}", Generous);
        }

        await b.SendAsync("exit");
        Assert.Equal(0, await b.WaitForExitAsync(Generous));

        // B resumed each of A's partitions from a checkpoint, not from the start of the log.
        var takeover = b.Lines.Skip(linesOfBBeforeKill).Where(l => l.StartsWith("assigned", StringComparison.Ordinal)).ToList();
        foreach (var p in ownedByA)
        {
            Assert.Contains(takeover, l => l.StartsWith($"assigned {p} at ", StringComparison.Ordinal) && l != $"assigned {p} at 0");
        }

        var actual = FileOutputSink.ReadStore([outA, outB]);
        Assert.Equal(0, actual.Conflicts);
        Assert.Equal(expected.Store, actual.Store);
    }

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>The partitions a host owns now, from its ordered <c>assigned</c>/<c>revoked</c> lines.</summary>
    private static HashSet<int> Owned(EngineHostProcess host)
    {
        var owned = new HashSet<int>();
        foreach (var line in host.Lines)
        {
            var parts = line.Split(' ');
            if (parts.Length >= 2 && int.TryParse(parts[1], out var p))
            {
                if (parts[0] == "assigned")
                {
                    owned.Add(p);
                }
                else if (parts[0] == "revoked")
                {
                    owned.Remove(p);
                }
            }
        }

        return owned;
    }
}
