using System.Buffers;
using System.Buffers.Binary;
using EdgeStream.Contracts;

namespace EdgeStream.SerialProtocols.R2000;

/// <summary>R2000-family command bytes the driver uses.</summary>
public static class R2000Command
{
    /// <summary>cmd_set_work_antenna: data = antenna 0–3; answer = error code.</summary>
    public const byte SetWorkAntenna = 0x74;

    /// <summary>cmd_real_time_inventory: data = repeat; answers = tag frames, then an end-of-round frame.</summary>
    public const byte RealTimeInventory = 0x89;

    /// <summary>cmd_fast_switch_ant_inventory: data = (antenna, stay) × 4, interval, repeat.</summary>
    public const byte FastSwitchAntennaInventory = 0x8A;

    /// <summary>The error code meaning success.</summary>
    public const byte Success = 0x10;
}

/// <summary>A whole, checksum-verified frame: <c>A0 Len Addr Cmd Data… Check</c>.</summary>
public readonly ref struct R2000Frame
{
    /// <summary>Creates a view over a verified frame's bytes.</summary>
    public R2000Frame(ReadOnlySpan<byte> bytes) => Bytes = bytes;

    /// <summary>The frame's bytes, head to checksum.</summary>
    public ReadOnlySpan<byte> Bytes { get; }

    /// <summary>The module address.</summary>
    public byte Address => Bytes[2];

    /// <summary>The command this frame answers.</summary>
    public byte Command => Bytes[3];

    /// <summary>The bytes between the command and the checksum.</summary>
    public ReadOnlySpan<byte> Data => Bytes[4..^1];
}

/// <summary>What kind of answer an inventory frame is.</summary>
public enum R2000InventoryKind
{
    /// <summary>A tag was read.</summary>
    Tag,

    /// <summary>The inventory round ended.</summary>
    EndOfRound,

    /// <summary>The module reported an error (code in <see cref="R2000Inventory.ErrorCode"/>).</summary>
    Error,
}

/// <summary>An inventory answer (0x89 or 0x8A), decoded without allocation.</summary>
public struct R2000Inventory
{
    /// <summary>What the frame is.</summary>
    public R2000InventoryKind Kind;

    /// <summary>For a tag: its EPC.</summary>
    public Epc Epc;

    /// <summary>For a tag: the PC word.</summary>
    public ushort Pc;

    /// <summary>For a tag: 1-based antenna. For an error naming an antenna: that antenna.</summary>
    public byte Antenna;

    /// <summary>For a tag: the frequency index (FreqAnt &gt;&gt; 2).</summary>
    public byte FrequencyIndex;

    /// <summary>For a tag: RSSI in dBm (RSSI byte − 129).</summary>
    public short RssiDbm;

    /// <summary>For an end of round: how many tag reads the round made.</summary>
    public uint TotalReads;

    /// <summary>For an error: the module's error code.</summary>
    public byte ErrorCode;
}

/// <summary>
/// The R2000 serial protocol, pure: building commands, finding frames in a byte stream (resynchronising
/// after line noise and corrupted frames) and decoding inventory answers.
/// </summary>
public static class R2000Codec
{
    /// <summary>Every frame starts with this byte.</summary>
    public const byte Head = 0xA0;

    /// <summary>The longest frame: head, length 255, and the 255 bytes it counts.</summary>
    public const int MaxFrameLength = 2 + 255;

    /// <summary>The checksum byte that makes the frame's bytes sum to zero (mod 256).</summary>
    public static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        var sum = 0;
        foreach (var b in bytes)
        {
            sum += b;
        }

        return (byte)(-sum);
    }

    /// <summary>Writes a frame into <paramref name="destination"/> and returns its length.</summary>
    /// <exception cref="ArgumentException">Data longer than 252 bytes, or a destination too small.</exception>
    public static int WriteFrame(Span<byte> destination, byte address, byte command, ReadOnlySpan<byte> data)
    {
        if (data.Length > 252)
        {
            throw new ArgumentException($"An R2000 frame carries at most 252 data bytes, not {data.Length}.", nameof(data));
        }

        var total = data.Length + 5;
        if (destination.Length < total)
        {
            throw new ArgumentException($"Destination needs {total} bytes.", nameof(destination));
        }

        destination[0] = Head;
        destination[1] = (byte)(data.Length + 3);
        destination[2] = address;
        destination[3] = command;
        data.CopyTo(destination[4..]);
        destination[total - 1] = Checksum(destination[..(total - 1)]);
        return total;
    }

    /// <summary>A frame as a new array.</summary>
    public static byte[] Frame(byte address, byte command, params ReadOnlySpan<byte> data)
    {
        var frame = new byte[data.Length + 5];
        WriteFrame(frame, address, command, data);
        return frame;
    }

    /// <summary>
    /// Finds the next valid frame at the start of <paramref name="buffer"/>. Bytes before a head byte are
    /// line noise; a head whose length is impossible or whose checksum fails is a corrupted frame: both
    /// are counted and skipped, resuming the search one byte after the bad head so a real frame hidden
    /// inside garbage is still found. Returns false when more bytes are needed; <paramref name="buffer"/>
    /// is then trimmed to what must be kept.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, Span<byte> frame, out int frameLength, ref R2000StreamStats stats)
    {
        frameLength = 0;
        while (true)
        {
            var head = buffer.PositionOf(Head);
            if (head is null)
            {
                stats.NoiseBytes += buffer.Length;
                buffer = buffer.Slice(buffer.End);
                return false;
            }

            var skipped = buffer.Slice(0, head.Value).Length;
            stats.NoiseBytes += skipped;
            buffer = buffer.Slice(head.Value);
            if (buffer.Length < 2)
            {
                return false;
            }

            var len = buffer.Slice(1, 1).FirstSpan[0];
            if (len < 3)
            {
                stats.CorruptFrames++;
                buffer = buffer.Slice(1);
                continue;
            }

            var total = len + 2;
            if (buffer.Length < total)
            {
                return false;
            }

            var candidate = frame[..total];
            buffer.Slice(0, total).CopyTo(candidate);
            if (Checksum(candidate[..^1]) != candidate[^1])
            {
                stats.CorruptFrames++;
                buffer = buffer.Slice(1);
                continue;
            }

            buffer = buffer.Slice(total);
            frameLength = total;
            stats.Frames++;
            return true;
        }
    }

    /// <summary>
    /// Decodes a 0x89 or 0x8A answer. False when the frame is not an inventory answer or its content is
    /// inconsistent (an EPC length that disagrees with the frame's): such frames must not become reads.
    /// </summary>
    public static bool TryDecodeInventory(R2000Frame frame, out R2000Inventory result)
    {
        result = default;
        if (frame.Command is not (R2000Command.RealTimeInventory or R2000Command.FastSwitchAntennaInventory))
        {
            return false;
        }

        var d = frame.Data;
        switch (d.Length)
        {
            case 1:
                result.Kind = R2000InventoryKind.Error;
                result.ErrorCode = d[0];
                return true;
            case 2 when frame.Command == R2000Command.FastSwitchAntennaInventory:
                result.Kind = R2000InventoryKind.Error;
                result.Antenna = (byte)((d[0] & 0x03) + 1);
                result.ErrorCode = d[1];
                return true;
            case 7:
                result.Kind = R2000InventoryKind.EndOfRound;
                result.TotalReads = frame.Command == R2000Command.RealTimeInventory
                    ? BinaryPrimitives.ReadUInt32BigEndian(d[3..])
                    : (uint)((d[0] << 16) | (d[1] << 8) | d[2]);
                return true;
        }

        if (d.Length < 4)
        {
            return false;
        }

        var pc = BinaryPrimitives.ReadUInt16BigEndian(d[1..]);
        var epcBytes = (pc >> 11) * 2;
        if (d.Length != 1 + 2 + epcBytes + 1 || epcBytes == 0 || !Epc.TryFromBytes(d.Slice(3, epcBytes), -1, out result.Epc))
        {
            return false;
        }

        result.Kind = R2000InventoryKind.Tag;
        result.Pc = pc;
        result.Antenna = (byte)((d[0] & 0x03) + 1);
        result.FrequencyIndex = (byte)(d[0] >> 2);
        result.RssiDbm = (short)(d[^1] - 129);
        return true;
    }

    /// <summary>Writes a tag answer (emulator side).</summary>
    public static int WriteTagFrame(Span<byte> destination, byte address, byte command, byte antenna1Based, byte frequencyIndex, ReadOnlySpan<byte> epc, int rssiDbm)
    {
        Span<byte> data = stackalloc byte[4 + epc.Length];
        data[0] = (byte)((frequencyIndex << 2) | ((antenna1Based - 1) & 0x03));
        BinaryPrimitives.WriteUInt16BigEndian(data[1..], (ushort)((epc.Length / 2) << 11));
        epc.CopyTo(data[3..]);
        data[^1] = (byte)Math.Clamp(rssiDbm + 129, 0, 255);
        return WriteFrame(destination, address, command, data);
    }
}

/// <summary>Counts of what framing found in a byte stream.</summary>
public struct R2000StreamStats
{
    /// <summary>Valid frames.</summary>
    public long Frames;

    /// <summary>Bytes outside any frame (line noise).</summary>
    public long NoiseBytes;

    /// <summary>Frames with an impossible length or a bad checksum.</summary>
    public long CorruptFrames;
}
