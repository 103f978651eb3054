using System.Runtime.InteropServices;

namespace EdgeStream.Outbox.Storage;

/// <summary>The outbox's files in one directory on the gateway's disk.</summary>
public sealed class FileOutboxStorage : IOutboxStorage
{
    private readonly string _dir;

    /// <summary>Uses (and creates) <paramref name="directory"/>.</summary>
    public FileOutboxStorage(string directory)
    {
        _dir = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(_dir);
    }

    /// <summary>The directory holding the files.</summary>
    public string Root => _dir;

    /// <inheritdoc/>
    public Stream OpenWrite(string name) =>
        new FileStream(Path.Combine(_dir, name), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 4096, FileOptions.None);

    /// <inheritdoc/>
    public Stream OpenRead(string name) =>
        new FileStream(Path.Combine(_dir, name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.RandomAccess);

    /// <inheritdoc/>
    public bool Exists(string name) => File.Exists(Path.Combine(_dir, name));

    /// <inheritdoc/>
    public IReadOnlyList<string> List(string prefix)
    {
        var names = System.IO.Directory.EnumerateFiles(_dir, prefix + "*")
            .Select(Path.GetFileName)
            .OfType<string>()
            .ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <inheritdoc/>
    public void Delete(string name) => File.Delete(Path.Combine(_dir, name));

    /// <inheritdoc/>
    public void Sync(Stream stream)
    {
        if (stream is FileStream fs)
        {
            fs.Flush(flushToDisk: true);
        }
        else
        {
            stream.Flush();
        }
    }

    /// <inheritdoc/>
    public void SyncDirectory()
    {
        // A new file's directory entry is only durable once the directory itself is synced
        // (ext4, f2fs); .NET has no API for that, so it goes to the C library on Linux.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = NativeMethods.open(_dir, NativeMethods.ORdOnly | NativeMethods.ODirectory);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {_dir} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw new IOException($"Cannot sync directory {_dir} (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <inheritdoc/>
    public long? AvailableBytes
    {
        get
        {
            try
            {
                return new DriveInfo(_dir).AvailableFreeSpace;
            }
            catch (Exception)
            {
                return null;
            }
        }
    }
}

internal static class NativeMethods
{
    public const int ORdOnly = 0;
    public const int ODirectory = 0x10000; // same value on x64, arm64 and arm (asm-generic)

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int close(int fd);
}
