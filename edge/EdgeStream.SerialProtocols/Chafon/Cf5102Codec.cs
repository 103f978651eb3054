using System.Buffers;
using EdgeStream.Contracts;

namespace EdgeStream.SerialProtocols.Chafon;

/// <summary>Chafon CF-RU5102 (UHFReader18 protocol) command bytes and status codes the driver uses.</summary>
public static class Cf5102Command
{
    /// <summary>Gen2 EPC inventory (polled): the answer lists the tags seen in this inventory.</summary>
    public const byte Inventory = 0x01;

    /// <summary>Status: inventory finished within the inventory time.</summary>
    public const byte StatusDone = 0x01;

    /// <summary>Status: inventory time ran out before every tag was read.</summary>
    public const byte StatusTimeout = 0x02;

    /// <summary>Status: more answers follow for this inventory.</summary>
    public const byte StatusMore = 0x03;

    /// <summary>Status: the reader's memory is full (answers follow).</summary>
    public const byte StatusMemoryFull = 0x04;

    /// <summary>Status: no tag answered.</summary>
    public const byte StatusNoTag = 0xFB;
}

/// <summary>
/// The CF-RU5102 serial protocol, pure. Frames are <c>Len Adr Cmd [Status] Data… CRC-LSB CRC-MSB</c>;
/// Len counts every byte after itself; the CRC is CRC-16/MCRF4XX (reflected polynomial 0x8408, preset
/// 0xFFFF, no final XOR) over Len..Data, sent low byte first. There is no start marker: framing
/// resynchronises by dropping one byte whenever the length or CRC does not hold.
/// </summary>
public static class Cf5102Codec
{
    /// <summary>The longest frame: Len 255 plus the Len byte.</summary>
    public const int MaxFrameLength = 256;

    /// <summary>CRC-16/MCRF4XX.</summary>
    public static ushort Crc16(ReadOnlySpan<byte> bytes)
    {
        ushort crc = 0xFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0x8408) : (ushort)(crc >> 1);
            }
        }

        return crc;
    }

    /// <summary>A command frame as a new array.</summary>
    public static byte[] Command(byte address, byte command, params ReadOnlySpan<byte> data)
    {
        var frame = new byte[data.Length + 5];
        frame[0] = (byte)(data.Length + 4);
        frame[1] = address;
        frame[2] = command;
        data.CopyTo(frame.AsSpan(3));
        var crc = Crc16(frame.AsSpan(0, frame.Length - 2));
        frame[^2] = (byte)crc;
        frame[^1] = (byte)(crc >> 8);
        return frame;
    }

    /// <summary>An answer frame (emulators, tests): <c>Len Adr reCmd Status Data CRC</c>.</summary>
    public static byte[] Response(byte address, byte command, byte status, params ReadOnlySpan<byte> data)
    {
        Span<byte> body = stackalloc byte[data.Length + 1];
        body[0] = status;
        data.CopyTo(body[1..]);
        return Command(address, command, body);
    }

    /// <summary>
    /// Finds the next answer frame at the start of <paramref name="buffer"/>; false when more bytes are
    /// needed. A length below the minimum, an answer to another command than
    /// <paramref name="expectedCommand"/> (when given) or a CRC mismatch drops one byte (counted) and
    /// tries again. Checking the command as soon as three bytes are there keeps a noise byte that looks
    /// like a long length from holding up the real answer behind it.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, Span<byte> frame, out int frameLength, ref long rejected, byte? expectedCommand = null)
    {
        frameLength = 0;
        while (buffer.Length >= 1)
        {
            var len = buffer.FirstSpan[0];
            if (len < 5)
            {
                rejected++;
                buffer = buffer.Slice(1);
                continue;
            }

            if (expectedCommand is { } expected && buffer.Length >= 3)
            {
                Span<byte> head = stackalloc byte[3];
                buffer.Slice(0, 3).CopyTo(head);
                if (head[2] != expected)
                {
                    rejected++;
                    buffer = buffer.Slice(1);
                    continue;
                }
            }

            var total = len + 1;
            if (buffer.Length < total)
            {
                return false;
            }

            var candidate = frame[..total];
            buffer.Slice(0, total).CopyTo(candidate);
            var crc = Crc16(candidate[..^2]);
            if (candidate[^2] != (byte)crc || candidate[^1] != (byte)(crc >> 8))
            {
                rejected++;
                buffer = buffer.Slice(1);
                continue;
            }

            buffer = buffer.Slice(total);
            frameLength = total;
            return true;
        }

        return false;
    }

    /// <summary>The status byte of an answer frame.</summary>
    public static byte Status(ReadOnlySpan<byte> frame) => frame[3];

    /// <summary>The command an answer frame answers.</summary>
    public static byte AnsweredCommand(ReadOnlySpan<byte> frame) => frame[2];

    /// <summary>
    /// Reads the EPCs of an inventory answer's data (<c>Num, (EPCLen, EPC)×Num</c>) into
    /// <paramref name="epcs"/>. False when the counts disagree with the bytes: then no EPC of the frame
    /// may be used.
    /// </summary>
    public static bool TryReadInventory(ReadOnlySpan<byte> frame, Span<Epc> epcs, out int count)
    {
        count = 0;
        var data = frame[4..^2];
        if (data.IsEmpty)
        {
            return false;
        }

        var n = data[0];
        var pos = 1;
        if (n > epcs.Length)
        {
            return false;
        }

        for (var i = 0; i < n; i++)
        {
            if (pos >= data.Length)
            {
                return false;
            }

            var len = data[pos++];
            if (len == 0 || pos + len > data.Length || !Epc.TryFromBytes(data.Slice(pos, len), -1, out epcs[i]))
            {
                return false;
            }

            pos += len;
        }

        if (pos != data.Length)
        {
            return false;
        }

        count = n;
        return true;
    }
}
