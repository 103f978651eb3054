namespace EdgeStream.Outbox.Storage;

/// <summary>
/// Sits between LiteDB and its file. The first write, resize or flush that fails freezes the file as
/// it was (as if the power had gone at that moment) and carries on in memory, so LiteDB never sees
/// an I/O error. LiteDB 5 leaves a transaction that failed mid-write to its finalizer, which throws
/// and ends the process; the outbox instead notices <see cref="Failed"/>, discards this LiteDB
/// instance and reopens the index from the frozen file, which LiteDB recovers like any crash.
/// </summary>
internal sealed class GuardedStream : Stream
{
    private readonly Stream _inner;
    private Stream _target;
    private MemoryStream? _memory;

    public GuardedStream(Stream inner)
    {
        _inner = inner;
        _target = inner;
    }

    /// <summary>True once a write failed and the file was frozen.</summary>
    public bool Failed => _memory is not null;

    /// <summary>The error that froze the file.</summary>
    public Exception? Failure { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => true;

    public override long Length => _target.Length;

    public override long Position
    {
        get => _target.Position;
        set => _target.Position = value;
    }

    public override void Flush()
    {
        if (_memory is not null)
        {
            return;
        }

        try
        {
            // LiteDB calls Flush() when it means "to stable storage"; a FileStream needs Flush(true) for that.
            if (_target is FileStream fs)
            {
                fs.Flush(flushToDisk: true);
            }
            else
            {
                _target.Flush();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Freeze(ex);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => _target.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _target.Read(buffer);

    public override long Seek(long offset, SeekOrigin origin) => _target.Seek(offset, origin);

    public override void SetLength(long value) => Guard(() => _target.SetLength(value));

    public override void Write(byte[] buffer, int offset, int count)
    {
        var position = _target.Position;
        if (_memory is not null)
        {
            _memory.Write(buffer, offset, count);
            return;
        }

        try
        {
            _target.Write(buffer, offset, count);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Freeze(ex);
            _memory!.Position = position;
            _memory.Write(buffer, offset, count);
        }
    }

    private void Guard(Action op)
    {
        if (_memory is not null)
        {
            op();
            return;
        }

        try
        {
            op();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Freeze(ex);
            op();
        }
    }

    private void Freeze(Exception ex)
    {
        Failure = ex;
        var memory = new MemoryStream();
        try
        {
            var position = _target.Position;
            _target.Position = 0;
            _target.CopyTo(memory);
            memory.Position = position;
        }
        catch (Exception)
        {
            // Unreadable too: LiteDB carries on with an empty image, which is discarded anyway.
        }

        _memory = memory;
        _target = memory;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _memory?.Dispose();
        }

        base.Dispose(disposing);
    }
}
