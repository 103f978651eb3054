using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace EdgeStream.EventLog.Kafka;

/// <summary>
/// librdkafka's built-in mock Kafka cluster: real Kafka protocol on loopback ports (produce, fetch,
/// consumer groups, commits, rebalances), no broker install. For tests, benchmarks and demos, never
/// production: it lives in this process, in memory, as long as this object.
/// </summary>
/// <remarks>
/// It is driven through librdkafka's C API (topic creation, group delay), which Confluent.Kafka does
/// not wrap. The calls bind to the very copy of librdkafka Confluent.Kafka loaded (on Debian 12 its
/// <c>centos8-librdkafka.so</c> variant), found in the process's memory map, so both share one
/// library state.
/// </remarks>
public sealed class KafkaMockCluster : IDisposable
{
    private readonly Native _native;
    private IntPtr _rk;
    private readonly IntPtr _cluster;

    private KafkaMockCluster(Native native, IntPtr rk, IntPtr cluster, string bootstrapServers)
    {
        _native = native;
        _rk = rk;
        _cluster = cluster;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>The <c>bootstrap.servers</c> value to give clients (and <c>kcat -b</c>).</summary>
    public string BootstrapServers { get; }

    /// <summary>Starts a mock cluster of <paramref name="brokers"/> brokers.</summary>
    public static KafkaMockCluster Start(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        var native = Native.Bind();
        var errors = new byte[512];
        var conf = native.ConfNew();
        Set(native, conf, "test.mock.num.brokers", brokers.ToString(), errors);
        Set(native, conf, "log_level", "3", errors);
        var rk = native.New(0, conf, errors, (UIntPtr)errors.Length);
        if (rk == IntPtr.Zero)
        {
            throw new InvalidOperationException("librdkafka could not create the mock cluster: " + Text(errors));
        }

        var cluster = native.HandleMockCluster(rk);
        var bootstraps = Marshal.PtrToStringUTF8(native.MockClusterBootstraps(cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
        return new KafkaMockCluster(native, rk, cluster, bootstraps);
    }

    /// <summary>Creates a topic (the mock cluster does not implement the admin API's CreateTopics).</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        var err = _native.MockTopicCreate(_cluster, topic, partitions, replicationFactor);
        if (err != 0)
        {
            throw new InvalidOperationException($"The mock cluster could not create topic '{topic}': error {err}.");
        }
    }

    /// <summary>Sets the consumer-group initial rebalance delay (librdkafka's default 3 s slows tests).</summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay) => _native.MockGroupInitialRebalanceDelayMs(_cluster, (int)delay.TotalMilliseconds);

    /// <summary>Stops the cluster; its data is gone.</summary>
    public void Dispose()
    {
        var rk = Interlocked.Exchange(ref _rk, IntPtr.Zero);
        if (rk != IntPtr.Zero)
        {
            _native.Destroy(rk);
        }
    }

    private static void Set(Native native, IntPtr conf, string name, string value, byte[] errors)
    {
        if (native.ConfSet(conf, name, value, errors, (UIntPtr)errors.Length) != 0)
        {
            throw new InvalidOperationException($"librdkafka refused {name}={value}: {Text(errors)}");
        }
    }

    private static string Text(byte[] buffer) => Encoding.UTF8.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0)));

    private sealed class Native
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate IntPtr ConfNewFn();

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int ConfSetFn(IntPtr conf, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, byte[] errstr, UIntPtr size);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate IntPtr NewFn(int type, IntPtr conf, byte[] errstr, UIntPtr size);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate IntPtr HandleMockClusterFn(IntPtr rk);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate IntPtr MockClusterBootstrapsFn(IntPtr cluster);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int MockTopicCreateFn(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitions, int replicationFactor);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void MockGroupInitialRebalanceDelayMsFn(IntPtr cluster, int delayMs);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void DestroyFn(IntPtr rk);

        public required ConfNewFn ConfNew { get; init; }

        public required ConfSetFn ConfSet { get; init; }

        public required NewFn New { get; init; }

        public required HandleMockClusterFn HandleMockCluster { get; init; }

        public required MockClusterBootstrapsFn MockClusterBootstraps { get; init; }

        public required MockTopicCreateFn MockTopicCreate { get; init; }

        public required MockGroupInitialRebalanceDelayMsFn MockGroupInitialRebalanceDelayMs { get; init; }

        public required DestroyFn Destroy { get; init; }

        public static Native Bind()
        {
            // Make Confluent.Kafka load its librdkafka variant, then bind to that same file.
            Library.Load();
            var path = LoadedLibrdkafkaPath()
                ?? throw new InvalidOperationException("librdkafka is not mapped into this process after Confluent.Kafka loaded it.");
            var lib = NativeLibrary.Load(path);
            T Fn<T>(string name) where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(lib, name));
            return new Native
            {
                ConfNew = Fn<ConfNewFn>("rd_kafka_conf_new"),
                ConfSet = Fn<ConfSetFn>("rd_kafka_conf_set"),
                New = Fn<NewFn>("rd_kafka_new"),
                HandleMockCluster = Fn<HandleMockClusterFn>("rd_kafka_handle_mock_cluster"),
                MockClusterBootstraps = Fn<MockClusterBootstrapsFn>("rd_kafka_mock_cluster_bootstraps"),
                MockTopicCreate = Fn<MockTopicCreateFn>("rd_kafka_mock_topic_create"),
                MockGroupInitialRebalanceDelayMs = Fn<MockGroupInitialRebalanceDelayMsFn>("rd_kafka_mock_group_initial_rebalance_delay_ms"),
                Destroy = Fn<DestroyFn>("rd_kafka_destroy"),
            };
        }

        private static string? LoadedLibrdkafkaPath()
        {
            if (!File.Exists("/proc/self/maps"))
            {
                return null;
            }

            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && line.Contains("librdkafka", StringComparison.Ordinal))
                {
                    return line[slash..].Trim();
                }
            }

            return null;
        }
    }
}
