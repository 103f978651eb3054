using EdgeStream.Outbox.Storage;

namespace EdgeStream.Outbox.Tests;

/// <summary>
/// A disk in memory that behaves like one under power loss: writes land in a volatile view and
/// become durable only when the stream is flushed (fsync). <see cref="PowerCut"/> throws away every
/// write not yet flushed (optionally keeping an in-order prefix of them, as a disk that got part of
/// the way), and from the armed crash point on every operation fails, as the machine is off.
/// Reads keep working (the files are as the last write left them); writes, syncs, creating and
/// deleting files fail once the power is off. Also models a full disk with <see cref="QuotaBytes"/>.
/// </summary>
internal sealed class SimulatedDisk : IOutboxStorage
{
    private readonly object _gate = new();
    private readonly Dictionary<string, SimFile> _files = new(StringComparer.Ordinal);
    private long _ops;
    private long _crashAt = long.MaxValue;

    /// <summary>True once the armed crash point was reached.</summary>
    public bool PoweredOff { get; private set; }

    /// <summary>Write and sync operations performed so far.</summary>
    public long Operations
    {
        get
        {
            lock (_gate)
            {
                return _ops;
            }
        }
    }

    /// <summary>When set, writes that would grow the disk beyond this many bytes fail with "No space left on device".</summary>
    public long? QuotaBytes { get; set; }

    /// <summary>Bytes in use (current view).</summary>
    public long UsedBytes
    {
        get
        {
            lock (_gate)
            {
                return _files.Values.Sum(f => f.Length);
            }
        }
    }

    /// <summary>The power fails at the <paramref name="operation"/>-th write or sync from now.</summary>
    public void ArmCrash(long operation)
    {
        lock (_gate)
        {
            _crashAt = _ops + operation;
        }
    }

    /// <summary>
    /// Loses everything not flushed, as a power cut does, and powers the disk back on.
    /// With <paramref name="tornWrites"/>, each file keeps a random in-order prefix of its unflushed writes.
    /// </summary>
    public void PowerCut(Random? tornWrites = null)
    {
        lock (_gate)
        {
            foreach (var f in _files.Values)
            {
                f.Revert(tornWrites);
            }

            PoweredOff = false;
            _crashAt = long.MaxValue;
        }
    }

    public Stream OpenWrite(string name)
    {
        lock (_gate)
        {
            Tick();
            if (!_files.TryGetValue(name, out var f))
            {
                f = new SimFile();
                _files[name] = f;
            }

            return new SimStream(this, f, writable: true);
        }
    }

    public Stream OpenRead(string name)
    {
        lock (_gate)
        {
            return _files.TryGetValue(name, out var f)
                ? new SimStream(this, f, writable: false)
                : throw new FileNotFoundException($"No file {name}.");
        }
    }

    public bool Exists(string name)
    {
        lock (_gate)
        {
            return _files.ContainsKey(name);
        }
    }

    public IReadOnlyList<string> List(string prefix)
    {
        lock (_gate)
        {
            ThrowIfOff();
            return _files.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        }
    }

    public void Delete(string name)
    {
        lock (_gate)
        {
            Tick();
            _files.Remove(name);
        }
    }

    public void Sync(Stream stream) => stream.Flush();

    // File creation and deletion are modelled as durable at once (a journaling file system's
    // metadata); the directory sync still counts as an operation a power cut can hit.
    public void SyncDirectory()
    {
        lock (_gate)
        {
            Tick();
        }
    }

    public long? AvailableBytes => QuotaBytes is { } q ? Math.Max(0, q - UsedBytes) : null;

    private void Tick()
    {
        ThrowIfOff();
        _ops++;
        if (_ops >= _crashAt)
        {
            PoweredOff = true;
            throw new IOException("Power lost.");
        }
    }

    private void ThrowIfOff()
    {
        if (PoweredOff)
        {
            throw new IOException("Power lost.");
        }
    }

    private sealed class SimFile
    {
        private readonly List<(long Offset, byte[]? Data, long NewLength)> _pending = [];
        private byte[] _current = new byte[256];
        private byte[] _durable = [];

        public long Length { get; private set; }

        public int Read(long position, Span<byte> buffer)
        {
            if (position >= Length)
            {
                return 0;
            }

            var n = (int)Math.Min(buffer.Length, Length - position);
            _current.AsSpan((int)position, n).CopyTo(buffer);
            return n;
        }

        public void Write(long position, ReadOnlySpan<byte> data)
        {
            Apply(position, data);
            _pending.Add((position, data.ToArray(), -1));
        }

        public void SetLength(long length)
        {
            ApplyLength(length);
            _pending.Add((0, null, length));
        }

        public void Flush()
        {
            _durable = _current.AsSpan(0, (int)Length).ToArray();
            _pending.Clear();
        }

        public void Revert(Random? torn)
        {
            var keep = torn is null || _pending.Count == 0 ? 0 : torn.Next(_pending.Count + 1);
            var kept = _pending.Take(keep).ToList();
            _current = new byte[Math.Max(256, _durable.Length)];
            _durable.CopyTo(_current, 0);
            Length = _durable.Length;
            _pending.Clear();
            foreach (var (offset, data, newLength) in kept)
            {
                if (data is null)
                {
                    ApplyLength(newLength);
                }
                else
                {
                    Apply(offset, data);
                }
            }

            if (kept.Count > 0)
            {
                Flush();
            }
        }

        private void Apply(long position, ReadOnlySpan<byte> data)
        {
            var end = position + data.Length;
            Ensure(end);
            if (position > Length)
            {
                _current.AsSpan((int)Length, (int)(position - Length)).Clear();
            }

            data.CopyTo(_current.AsSpan((int)position));
            Length = Math.Max(Length, end);
        }

        private void ApplyLength(long length)
        {
            Ensure(length);
            if (length > Length)
            {
                _current.AsSpan((int)Length, (int)(length - Length)).Clear();
            }

            Length = length;
        }

        private void Ensure(long size)
        {
            if (size > _current.Length)
            {
                Array.Resize(ref _current, (int)Math.Max(size, _current.Length * 2L));
            }
        }
    }

    private sealed class SimStream(SimulatedDisk disk, SimFile file, bool writable) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => writable;

        public override long Length
        {
            get
            {
                lock (disk._gate)
                {
                    return file.Length;
                }
            }
        }

        public override long Position { get => _position; set => _position = value; }

        public override void Flush()
        {
            if (!writable)
            {
                return;
            }

            lock (disk._gate)
            {
                disk.Tick();
                file.Flush();
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            lock (disk._gate)
            {
                var n = file.Read(_position, buffer);
                _position += n;
                return n;
            }
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            _position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => Length + offset,
            };
            return _position;
        }

        public override void SetLength(long value)
        {
            lock (disk._gate)
            {
                disk.Tick();
                CheckQuota(value - file.Length);
                file.SetLength(value);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!writable)
            {
                throw new NotSupportedException("Read-only stream.");
            }

            lock (disk._gate)
            {
                disk.Tick();
                CheckQuota(_position + buffer.Length - file.Length);
                file.Write(_position, buffer);
                _position += buffer.Length;
            }
        }

        private void CheckQuota(long growth)
        {
            if (growth > 0 && disk.QuotaBytes is { } q && disk._files.Values.Sum(f => f.Length) + growth > q)
            {
                throw new IOException("No space left on device.");
            }
        }
    }
}
