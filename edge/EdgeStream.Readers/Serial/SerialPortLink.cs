using System.IO.Ports;

namespace EdgeStream.Readers.Serial;

/// <summary>Opens the byte stream to a serial device. A seam so drivers can be tested over any stream.</summary>
public interface ISerialLink
{
    /// <summary>A description for messages, e.g. the device path.</summary>
    string Name { get; }

    /// <summary>Opens the device. The returned stream is owned by the caller.</summary>
    Stream Open();
}

/// <summary>A serial port (USB adapters, UARTs, pseudo-terminals) at a given speed, 8N1, raw.</summary>
public sealed class SerialPortLink : ISerialLink
{
    private readonly string _path;
    private readonly int _baud;

    /// <summary>Creates a link to <paramref name="path"/> at <paramref name="baud"/>.</summary>
    public SerialPortLink(string path, int baud)
    {
        _path = path;
        _baud = baud;
    }

    /// <inheritdoc/>
    public string Name => _path;

    /// <inheritdoc/>
    public Stream Open()
    {
        var port = new SerialPort(_path, _baud, Parity.None, 8, StopBits.One)
        {
            Handshake = Handshake.None,
            ReadTimeout = SerialPort.InfiniteTimeout,
            WriteTimeout = 5000,
        };
        try
        {
            port.Open();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            port.Dispose();
            throw new ReaderLinkException($"Cannot open serial device {_path}: {ex.Message}", ex);
        }

        return new PortStream(port);
    }

    /// <summary>The port's stream, which also closes the port.</summary>
    private sealed class PortStream(SerialPort port) : Stream
    {
        private readonly Stream _inner = port.BaseStream;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => _inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                port.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
