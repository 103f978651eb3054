using System.Runtime.InteropServices;

namespace EdgeStream.EventLog.Embedded;

/// <summary>
/// File-system steps that make creations, renames and deletions durable: on Linux a new or renamed
/// file's directory entry survives a power cut only once the directory itself is fsynced, which .NET
/// does not expose.
/// </summary>
internal static partial class DurableIo
{
    private const int ReadOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY on Linux

    /// <summary>Fsyncs a directory so the entries created, renamed or removed in it are durable.</summary>
    public static void SyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(path, ReadOnlyDirectory);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{path}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{path}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically and durably (temp file, fsync, rename, directory fsync).</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> content)
    {
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            fs.Write(content);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
