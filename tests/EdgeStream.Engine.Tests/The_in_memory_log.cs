using System.Buffers.Binary;
using EdgeStream.Engine;
using EdgeStream.Engine.InMemory;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// The in-memory log packs records into shared pages and index blocks: every record must come back
/// byte for byte and in order across page and block boundaries, a reader waiting at the end must wake
/// on the next append, and a sealed partition must end.
/// </summary>
[Trait("Capability", "Engine")]
public sealed class The_in_memory_log
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Records_of_varied_sizes_come_back_byte_for_byte_across_pages_and_index_blocks()
    {
        var log = new InMemoryLog(2);

        // 20,000 records cross two 8,192-slot index blocks; values up to 300 bytes cross 1 MiB pages;
        // one value larger than a page gets a page of its own.
        const int n = 20_000;
        for (var i = 0; i < n; i++)
        {
            var size = i == 12_345 ? 3 * 1024 * 1024 : i % 301;
            Assert.Equal(i, log.Append(1, KeyOf(i), ValueOf(i, size)));
        }

        log.Seal(1);
        Assert.Equal(n, log.Length(1));
        Assert.Equal(0, log.Length(0));

        await using var reader = log.OpenReader(1, 0);
        var batch = new RecordBatch(1000);
        var expected = 0;
        while (true)
        {
            var status = await reader.ReadAsync(batch, Generous, CancellationToken.None);
            for (var j = 0; j < batch.Count; j++)
            {
                var size = expected == 12_345 ? 3 * 1024 * 1024 : expected % 301;
                Assert.Equal(expected, batch.OffsetAt(j));
                Assert.True(batch.KeyAt(j).SequenceEqual(KeyOf(expected)), $"key of record {expected}");
                Assert.True(batch.ValueAt(j).SequenceEqual(ValueOf(expected, size)), $"value of record {expected}");
                expected++;
            }

            if (status == ReadStatus.Ended)
            {
                break;
            }

            Assert.Equal(ReadStatus.Records, status);
        }

        Assert.Equal(n, expected);
    }

    [Fact]
    public async Task A_reader_waiting_at_the_end_wakes_on_the_next_append_and_ends_when_sealed()
    {
        var log = new InMemoryLog(1);
        await using var reader = log.OpenReader(0, 0);
        var batch = new RecordBatch(16);

        // Nothing there yet: a short wait reports caught up.
        Assert.Equal(ReadStatus.CaughtUp, await reader.ReadAsync(batch, TimeSpan.FromMilliseconds(1), CancellationToken.None));

        // A long wait returns as soon as a record is appended, with that record.
        var read = reader.ReadAsync(batch, Generous, CancellationToken.None).AsTask();
        log.Append(0, [7], [1, 2, 3]);
        Assert.Equal(ReadStatus.Records, await read.WaitAsync(Generous));
        Assert.Equal(1, batch.Count);
        Assert.Equal(0, batch.OffsetAt(0));
        Assert.True(batch.ValueAt(0).SequenceEqual(new byte[] { 1, 2, 3 }));

        // A wait at the end of a partition that is then sealed returns Ended.
        var ending = reader.ReadAsync(batch, Generous, CancellationToken.None).AsTask();
        log.Seal(0);
        Assert.Equal(ReadStatus.Ended, await ending.WaitAsync(Generous));
        Assert.Throws<InvalidOperationException>(() => log.Append(0, [1], [1]));
    }

    private static byte[] KeyOf(int i)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(key, i);
        return key;
    }

    private static byte[] ValueOf(int i, int size)
    {
        var value = new byte[size];
        for (var j = 0; j < size; j++)
        {
            value[j] = (byte)(i + j);
        }

        return value;
    }
}
