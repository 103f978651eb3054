namespace EdgeStream.Engine;

/// <summary>
/// A partitioned, replayable log of records (the product's event log, Kafka, a file): what the engine
/// reads. A task opens one reader per assigned partition at the offset its checkpoint names.
/// </summary>
public interface IPartitionedSource
{
    /// <summary>Number of partitions.</summary>
    int PartitionCount { get; }

    /// <summary>Opens a reader of one partition that will next return the record at <paramref name="nextOffset"/>.</summary>
    IPartitionReader OpenReader(int partition, long nextOffset);
}

/// <summary>What a read returned besides records.</summary>
public enum ReadStatus
{
    /// <summary>Records were returned; more may follow at once.</summary>
    Records,

    /// <summary>Nothing new after waiting up to the poll time: the reader is at the end of the log.</summary>
    CaughtUp,

    /// <summary>The partition is sealed and fully read (bounded input); no record will ever follow.</summary>
    Ended,
}

/// <summary>Reads one partition in offset order. Used by one task at a time; not thread-safe.</summary>
public interface IPartitionReader : IAsyncDisposable
{
    /// <summary>The partition read.</summary>
    int Partition { get; }

    /// <summary>
    /// Fills <paramref name="batch"/> with the next records (clearing it first), waiting up to
    /// <paramref name="maxWait"/> when none is available.
    /// </summary>
    ValueTask<ReadStatus> ReadAsync(RecordBatch batch, TimeSpan maxWait, CancellationToken cancellationToken);

    /// <summary>Offset one past the last record in the log now (for lag); -1 when unknown.</summary>
    long EndOffset { get; }

    /// <summary>
    /// Tells the log that everything before <paramref name="nextOffset"/> is covered by a completed
    /// checkpoint (a consumer-group commit, for monitoring and retention). Recovery never depends on it.
    /// </summary>
    ValueTask CommitAsync(long nextOffset, CancellationToken cancellationToken);
}

/// <summary>
/// A reusable batch of records: offsets plus keys and values packed into one byte buffer, so reading
/// a batch allocates nothing once the buffers have grown to the working size.
/// </summary>
public sealed class RecordBatch
{
    private long[] _offsets;
    private int[] _keyStart;
    private int[] _valueStart;
    private int[] _valueEnd;
    private byte[] _bytes;
    private int _bytesUsed;

    /// <summary>Creates a batch of at most <paramref name="capacity"/> records.</summary>
    public RecordBatch(int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _offsets = new long[capacity];
        _keyStart = new int[capacity];
        _valueStart = new int[capacity];
        _valueEnd = new int[capacity];
        _bytes = new byte[capacity * 64];
    }

    /// <summary>Most records one batch holds.</summary>
    public int Capacity { get; }

    /// <summary>Records in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Whether the batch is full.</summary>
    public bool IsFull => Count == Capacity;

    /// <summary>Empties the batch.</summary>
    public void Clear()
    {
        Count = 0;
        _bytesUsed = 0;
    }

    /// <summary>Appends a record; returns false when the batch is full.</summary>
    public bool TryAdd(long offset, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (Count == Capacity)
        {
            return false;
        }

        var need = _bytesUsed + key.Length + value.Length;
        if (need > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(need, _bytes.Length * 2));
        }

        var i = Count++;
        _offsets[i] = offset;
        _keyStart[i] = _bytesUsed;
        key.CopyTo(_bytes.AsSpan(_bytesUsed));
        _bytesUsed += key.Length;
        _valueStart[i] = _bytesUsed;
        value.CopyTo(_bytes.AsSpan(_bytesUsed));
        _bytesUsed += value.Length;
        _valueEnd[i] = _bytesUsed;
        return true;
    }

    /// <summary>Offset of record <paramref name="index"/>.</summary>
    public long OffsetAt(int index) => _offsets[index];

    /// <summary>Key bytes of record <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> KeyAt(int index) => _bytes.AsSpan(_keyStart[index], _valueStart[index] - _keyStart[index]);

    /// <summary>Value bytes of record <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> ValueAt(int index) => _bytes.AsSpan(_valueStart[index], _valueEnd[index] - _valueStart[index]);
}
