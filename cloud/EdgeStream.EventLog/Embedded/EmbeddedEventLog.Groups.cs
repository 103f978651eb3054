using System.Buffers.Binary;
using EdgeStream.Contracts.Wire;

namespace EdgeStream.EventLog.Embedded;

public sealed partial class EmbeddedEventLog
{
    private readonly Dictionary<string, GroupState> _groups = new(StringComparer.Ordinal);

    private GroupState GetGroup(string groupId)
    {
        lock (_groups)
        {
            if (!_groups.TryGetValue(groupId, out var group))
            {
                group = new GroupState(groupId, Path.Combine(_root, "groups", groupId + ".offsets"), _partitions.Length);
                _groups.Add(groupId, group);
            }

            return group;
        }
    }

    /// <summary>
    /// A consumer group inside this process: its live members, which member owns which partition, and
    /// the committed offsets (one small file per group, replaced atomically on each commit).
    /// </summary>
    internal sealed class GroupState
    {
        private readonly string _offsetsPath;
        private readonly Dictionary<int, long> _committed;
        private readonly SemaphoreSlim _commitLock = new(1, 1);

        public GroupState(string groupId, string offsetsPath, int partitions)
        {
            GroupId = groupId;
            _offsetsPath = offsetsPath;
            Owners = new EmbeddedConsumer?[partitions];
            _committed = Load(offsetsPath);
        }

        public string GroupId { get; }

        public Lock Sync { get; } = new();

        public List<EmbeddedConsumer> Members { get; } = [];

        public EmbeddedConsumer?[] Owners { get; }

        /// <summary>Changes whenever a member joins or leaves.</summary>
        public int Generation { get; set; }

        public long? GetCommitted(int partition)
        {
            lock (_committed)
            {
                return _committed.TryGetValue(partition, out var offset) ? offset : null;
            }
        }

        public async Task CommitAsync(IReadOnlyList<LogPosition> offsets, CancellationToken cancellationToken)
        {
            await _commitLock.WaitAsync(cancellationToken);
            try
            {
                byte[] content;
                lock (_committed)
                {
                    foreach (var o in offsets)
                    {
                        _committed[o.Partition] = o.Offset;
                    }

                    content = Serialize(_committed);
                }

                // The file write and fsync block; keep them off the caller's thread.
                await Task.Run(() => DurableIo.WriteAtomic(_offsetsPath, content), CancellationToken.None);
            }
            finally
            {
                _commitLock.Release();
            }
        }

        // Format: count:i32, count × (partition:i32, offset:i64), crc32c:u32 — all little-endian.
        private static byte[] Serialize(Dictionary<int, long> committed)
        {
            var bytes = new byte[4 + (committed.Count * 12) + 4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, committed.Count);
            var pos = 4;
            foreach (var (partition, offset) in committed.OrderBy(kv => kv.Key))
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(pos), partition);
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(pos + 4), offset);
                pos += 12;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(pos), Crc32C.Compute(bytes.AsSpan(0, pos)));
            return bytes;
        }

        private static Dictionary<int, long> Load(string path)
        {
            var committed = new Dictionary<int, long>();
            if (!File.Exists(path))
            {
                return committed;
            }

            var bytes = File.ReadAllBytes(path);
            var count = bytes.Length >= 8 ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : -1;
            if (count < 0 || bytes.Length != 4 + (count * 12) + 4
                || Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)))
            {
                // Written atomically (rename), so this is damage, not a torn write: refuse rather than
                // silently restart the group from the beginning or the end.
                throw new EventLogException($"Committed offsets file '{path}' is corrupt; restore it or delete it to reset the group.");
            }

            for (var i = 0; i < count; i++)
            {
                committed[BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 + (i * 12)))] =
                    BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8 + (i * 12)));
            }

            return committed;
        }
    }
}
