using EdgeStream.Engine.TestHost;
using EdgeStream.EventLog.Kafka;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// The stream service reads a Kafka topic (librdkafka's mock cluster, real protocol, in the test
/// process) as a member of a consumer group; it is killed with SIGKILL at random points and restarted,
/// each new incarnation joining the same group and getting the partitions once the dead member's
/// session has expired. What reaches the idempotent sink equals one uninterrupted run's exactly.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class Kill_9_recovery_on_kafka_gives_the_outputs_of_an_uninterrupted_run
{
    private const int Partitions = 3;
    private const string Topic = "engine-kill9";

    [Theory]
    [InlineData(51, 5)]
    [InlineData(53, 5)]
    public async Task Outputs_after_repeated_kill_nine_and_restart_on_kafka_equal_the_uninterrupted_run(int seed, int kills)
    {
        using var run = EngineRunFolders.Create("kill9-kafka");
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
            await EngineRunFolders.AppendAsync(log, seed, 90_000);
        }

        await KillNineDriver.AssertKilledRunsEqualTheUninterruptedRunAsync(
            run,
            (checkpoints, output, group, paceMs, exitWhenEnded) => EngineHostProcess.Start(
                "", checkpoints, output, Partitions, "", paceMs, exitWhenEnded,
                extra: ["--log-kind", "kafka", "--bootstrap", cluster.BootstrapServers, "--topic", Topic, "--group", group]),
            seed,
            kills);
    }
}
