namespace EdgeStream.Outbox.Storage;

/// <summary>
/// The files the outbox keeps, behind a seam so tests can put a power-cut simulator under the
/// outbox and under LiteDB (which opens its database on streams this interface supplies).
/// </summary>
/// <remarks>
/// Durability contract: bytes written to a stream from <see cref="OpenWrite"/> are on stable
/// storage once <see cref="Sync"/> returns for that stream. Before that, a power cut may discard
/// them. LiteDB flushes its own streams with <see cref="Stream.Flush()"/> (a <see cref="FileStream"/>
/// it flushes with <c>Flush(true)</c>), so implementations treat <c>Flush()</c> on a non-file
/// stream the same way.
/// </remarks>
public interface IOutboxStorage
{
    /// <summary>Opens or creates a file for reading and writing (one writer at a time).</summary>
    Stream OpenWrite(string name);

    /// <summary>Opens an existing file for reading, alongside its writer.</summary>
    Stream OpenRead(string name);

    /// <summary>True when the file exists.</summary>
    bool Exists(string name);

    /// <summary>Names of the files whose name starts with <paramref name="prefix"/>, in ordinal order.</summary>
    IReadOnlyList<string> List(string prefix);

    /// <summary>Deletes a file; no error when it is already gone.</summary>
    void Delete(string name);

    /// <summary>Makes everything written to <paramref name="stream"/> durable (fsync).</summary>
    void Sync(Stream stream);

    /// <summary>Makes the creation of new files durable (fsync of the directory), so a synced file cannot vanish in a power cut.</summary>
    void SyncDirectory();

    /// <summary>Bytes free on the volume, or null when unknown.</summary>
    long? AvailableBytes { get; }
}
