namespace EdgeStream.Engine.TestHost;

/// <summary>
/// Wraps a source so that every read pauses first: a crash test can then kill a process in the middle
/// of a run however fast the underlying log is.
/// </summary>
public sealed class PacedSource(IPartitionedSource inner, TimeSpan pacePerRead) : IPartitionedSource
{
    public int PartitionCount => inner.PartitionCount;

    public IPartitionReader OpenReader(int partition, long nextOffset)
    {
        var reader = inner.OpenReader(partition, nextOffset);
        return pacePerRead > TimeSpan.Zero ? new Reader(reader, pacePerRead) : reader;
    }

    private sealed class Reader(IPartitionReader inner, TimeSpan pace) : IPartitionReader
    {
        public int Partition => inner.Partition;

        public long EndOffset => inner.EndOffset;

        public async ValueTask<ReadStatus> ReadAsync(RecordBatch batch, TimeSpan maxWait, CancellationToken cancellationToken)
        {
            await Task.Delay(pace, cancellationToken);
            return await inner.ReadAsync(batch, maxWait, cancellationToken);
        }

        public ValueTask CommitAsync(long nextOffset, CancellationToken cancellationToken) => inner.CommitAsync(nextOffset, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
