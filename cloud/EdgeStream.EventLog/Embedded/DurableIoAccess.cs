namespace EdgeStream.EventLog.Embedded;

/// <summary>
/// Durable file-system steps for other cloud components that keep small state files (ingest's dedupe
/// journal and dead-letter store): fsync of a directory, and atomic replacement of a file.
/// </summary>
public static class DurableIoAccess
{
    /// <summary>Fsyncs a directory so entries created, renamed or removed in it survive a power cut.</summary>
    public static void SyncDirectory(string path) => DurableIo.SyncDirectory(path);

    /// <summary>Replaces <paramref name="path"/> with <paramref name="content"/> atomically and durably.</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> content) => DurableIo.WriteAtomic(path, content);
}
