using System.Buffers.Binary;

namespace EdgeStream.Engine.TestHost;

/// <summary>
/// A partitioned log in files, one per partition (<c>p{n}.log</c>: Int32 key length, Int32 value
/// length, key, value, repeated), written completely before a run and sealed. Readers can be paced
/// (a pause per batch) so that a test can kill a process in the middle of a run.
/// </summary>
public sealed class FileLog : IPartitionedSource
{
    private readonly string _folder;

    public FileLog(string folder, int partitions, TimeSpan pacePerBatch = default, int maxBatch = 256)
    {
        _folder = folder;
        PartitionCount = partitions;
        PacePerBatch = pacePerBatch;
        MaxBatch = maxBatch;
    }

    public int PartitionCount { get; }

    public TimeSpan PacePerBatch { get; }

    public int MaxBatch { get; }

    public static string PathOf(string folder, int partition) => Path.Combine(folder, $"p{partition}.log");

    /// <summary>Writes a whole partition.</summary>
    public static void Write(string folder, int partition, IEnumerable<(byte[] Key, byte[] Value)> records)
    {
        using var fs = new FileStream(PathOf(folder, partition), FileMode.Create, FileAccess.Write);
        Span<byte> head = stackalloc byte[8];
        foreach (var (k, v) in records)
        {
            BinaryPrimitives.WriteInt32LittleEndian(head, k.Length);
            BinaryPrimitives.WriteInt32LittleEndian(head[4..], v.Length);
            fs.Write(head);
            fs.Write(k);
            fs.Write(v);
        }

        fs.Flush(true);
    }

    public IPartitionReader OpenReader(int partition, long nextOffset) => new Reader(this, partition, nextOffset);

    private sealed class Reader : IPartitionReader
    {
        private readonly FileLog _log;
        private readonly List<(int KeyAt, int KeyLength, int ValueLength)> _index = [];
        private readonly byte[] _bytes;
        private long _next;

        public Reader(FileLog log, int partition, long next)
        {
            _log = log;
            Partition = partition;
            _next = next;
            var path = PathOf(log._folder, partition);
            _bytes = File.Exists(path) ? File.ReadAllBytes(path) : [];
            var at = 0;
            while (at + 8 <= _bytes.Length)
            {
                var kl = BinaryPrimitives.ReadInt32LittleEndian(_bytes.AsSpan(at));
                var vl = BinaryPrimitives.ReadInt32LittleEndian(_bytes.AsSpan(at + 4));
                if (kl < 0 || vl < 0 || at + 8 + kl + vl > _bytes.Length)
                {
                    throw new InvalidDataException($"{path} is damaged at byte {at}.");
                }

                _index.Add((at + 8, kl, vl));
                at += 8 + kl + vl;
            }
        }

        public int Partition { get; }

        public long EndOffset => _index.Count;

        public async ValueTask<ReadStatus> ReadAsync(RecordBatch batch, TimeSpan maxWait, CancellationToken cancellationToken)
        {
            batch.Clear();
            if (_next >= _index.Count)
            {
                return ReadStatus.Ended;
            }

            if (_log.PacePerBatch > TimeSpan.Zero)
            {
                await Task.Delay(_log.PacePerBatch, cancellationToken);
            }

            while (_next < _index.Count && batch.Count < _log.MaxBatch)
            {
                var (k, kl, vl) = _index[(int)_next];
                batch.TryAdd(_next, _bytes.AsSpan(k, kl), _bytes.AsSpan(k + kl, vl));
                _next++;
            }

            return ReadStatus.Records;
        }

        public ValueTask CommitAsync(long nextOffset, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
