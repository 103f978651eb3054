using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Engine.Checkpoints;

/// <summary>
/// Checkpoints as files, one folder per partition: written to a temporary file, fsynced, renamed into
/// place atomically, the folder fsynced; each file carries its length and a CRC-32C so a torn or
/// corrupted file is detected and the previous checkpoint used. On a shared file system every instance
/// of a job can use the same root.
/// </summary>
/// <remarks>
/// File layout: magic "ESCKPT01", Int32 partition, Int64 checkpoint id, Int64 payload length, payload,
/// UInt32 CRC-32C of everything before it. Little-endian.
/// </remarks>
public sealed partial class FileCheckpointStore : ICheckpointStore
{
    private const int HeaderSize = 8 + 4 + 8 + 8;
    private static readonly byte[] Magic = "ESCKPT01"u8.ToArray();
    private readonly string _root;
    private readonly int _retained;
    private readonly ILogger _log;
    private long _rejected;

    /// <summary>Creates a store under <paramref name="root"/> keeping <paramref name="retained"/> checkpoints per partition.</summary>
    public FileCheckpointStore(string root, int retained = 3, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentOutOfRangeException.ThrowIfLessThan(retained, 1);
        _root = Path.GetFullPath(root);
        _retained = retained;
        _log = logger ?? NullLogger.Instance;
        Directory.CreateDirectory(_root);
    }

    /// <summary>Checkpoint files found torn or corrupted since start.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    /// <summary>The folder of a partition's checkpoints.</summary>
    public string PartitionFolder(int partition) => Path.Combine(_root, $"p{partition:D5}");

    /// <summary>The path of one checkpoint file.</summary>
    public string PathOf(int partition, long checkpointId) => Path.Combine(PartitionFolder(partition), $"{checkpointId:D20}.ckpt");

    /// <inheritdoc />
    public async ValueTask SaveAsync(int partition, long checkpointId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfLessThan(checkpointId, 1);
        var folder = PartitionFolder(partition);
        Directory.CreateDirectory(folder);
        var final = PathOf(partition, checkpointId);
        var temp = final + ".tmp";

        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), partition);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(12), checkpointId);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(20), payload.Length);
        var crc = Crc32C.Append(Crc32C.Seed, header);
        crc = ~Crc32C.Append(crc, payload.Span);
        var trailer = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);

        await using (var fs = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
            Options = FileOptions.Asynchronous,
            PreallocationSize = HeaderSize + payload.Length + 4,
        }))
        {
            await fs.WriteAsync(header, cancellationToken);
            await fs.WriteAsync(payload, cancellationToken);
            await fs.WriteAsync(trailer, cancellationToken);
            fs.Flush(flushToDisk: true);
        }

        // The rename is the commit point: readers see either no file or a complete, synced one.
        File.Move(temp, final, overwrite: true);
        SyncFolder(folder);
        Prune(partition);
    }

    /// <inheritdoc />
    public async ValueTask<CheckpointData?> LoadLatestAsync(int partition, CancellationToken cancellationToken)
    {
        foreach (var id in Ids(partition).OrderByDescending(i => i))
        {
            var path = PathOf(partition, id);
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(path, cancellationToken);
            }
            catch (IOException ex)
            {
                Reject(partition, id, ex.Message);
                continue;
            }

            if (Verify(bytes, partition, id) is { } problem)
            {
                Reject(partition, id, problem);
                continue;
            }

            return new CheckpointData(partition, id, bytes[HeaderSize..^4]);
        }

        return null;
    }

    /// <inheritdoc />
    public ValueTask<long> HighestIdAsync(int partition, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Ids(partition).DefaultIfEmpty(0).Max());

    /// <summary>Why a checkpoint file is not usable, or null when it verifies.</summary>
    public static string? Verify(ReadOnlySpan<byte> file, int partition, long checkpointId)
    {
        if (file.Length < HeaderSize + 4)
        {
            return $"file is {file.Length} bytes, shorter than a header";
        }

        if (!file[..8].SequenceEqual(Magic))
        {
            return "magic is not ESCKPT01";
        }

        var p = BinaryPrimitives.ReadInt32LittleEndian(file[8..]);
        var id = BinaryPrimitives.ReadInt64LittleEndian(file[12..]);
        var length = BinaryPrimitives.ReadInt64LittleEndian(file[20..]);
        if (p != partition || id != checkpointId)
        {
            return $"header names partition {p} checkpoint {id}";
        }

        if (length != file.Length - HeaderSize - 4)
        {
            return $"payload length {length} does not match file size {file.Length} (torn write)";
        }

        var expected = BinaryPrimitives.ReadUInt32LittleEndian(file[^4..]);
        var actual = Crc32C.Compute(file[..^4]);
        return expected == actual ? null : $"CRC-32C {actual:x8} does not match {expected:x8} (corrupted)";
    }

    private void Reject(int partition, long id, string reason)
    {
        Interlocked.Increment(ref _rejected);
        LogRejected(_log, partition, id, reason);
    }

    private IEnumerable<long> Ids(int partition)
    {
        var folder = PartitionFolder(partition);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var ids = new List<long>();
        foreach (var f in Directory.EnumerateFiles(folder, "*.ckpt"))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    private void Prune(int partition)
    {
        var ids = Ids(partition).OrderByDescending(i => i).ToList();
        foreach (var id in ids.Skip(_retained))
        {
            try
            {
                File.Delete(PathOf(partition, id));
            }
            catch (IOException ex)
            {
                LogPruneFailed(_log, partition, id, ex.Message);
            }
        }

        foreach (var temp in Directory.EnumerateFiles(PartitionFolder(partition), "*.tmp"))
        {
            // Leftovers of writes that a crash interrupted; a live writer's temp file is always newer
            // than the checkpoint just committed, so only ids at or below it are removed.
            if (long.TryParse(Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(temp)), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                && ids.Count > 0 && id < ids[0])
            {
                File.Delete(temp);
            }
        }
    }

    private static void SyncFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = NativeMethods.open(folder, 0 /* O_RDONLY */);
        if (fd >= 0)
        {
            _ = NativeMethods.fsync(fd);
            _ = NativeMethods.close(fd);
        }
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Checkpoint {CheckpointId} of partition {Partition} is unusable ({Reason}); trying the previous one")]
    private static partial void LogRejected(ILogger logger, int partition, long checkpointId, string reason);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Could not delete old checkpoint {CheckpointId} of partition {Partition}: {Reason}")]
    private static partial void LogPruneFailed(ILogger logger, int partition, long checkpointId, string reason);

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        internal static partial int fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static partial int close(int fd);
    }
}
