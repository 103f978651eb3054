using System.IO.Pipelines;
using EdgeStream.Llrp;

namespace EdgeStream.Llrp.Tests;

/// <summary>
/// Random and mutated input to every LLRP decoder: the only exception allowed out is
/// <see cref="LlrpFormatException"/>, decoding terminates, and the framer never buffers more than a
/// message's declared (bounded) length.
/// </summary>
[Trait("Capability", "Readers")]
public sealed class Llrp_decoding_of_fuzzed_frames
{
    private static readonly Action<byte[]>[] Decoders =
    [
        b => LlrpDecoder.DecodeROAccessReport(b),
        b => LlrpDecoder.DecodeReaderEventNotification(b),
        b => LlrpDecoder.DecodeReaderCapabilities(b),
        b => LlrpDecoder.DecodeReaderConfig(b),
        b => LlrpDecoder.DecodeStatusResponse(b),
        b => LlrpDecoder.DecodeSetReaderConfig(b),
        b => LlrpDecoder.DecodeAddROSpec(b),
        b => LlrpDecoder.DecodeROSpecId(b),
        b =>
        {
            var r = new RoAccessReportReader(b);
            while (r.TryRead(out _))
            {
            }
        },
    ];

    [Fact]
    public void Mutated_golden_messages_only_ever_raise_format_errors()
    {
        var rng = new Random(1234);
        var seeds = Fixtures.Names(string.Empty).Select(Fixtures.Bytes).ToArray();
        var rejected = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var input = (byte[])seeds[rng.Next(seeds.Length)].Clone();
            Mutate(rng, ref input);
            rejected += RunAll(input);
        }

        Assert.True(rejected > 1000, $"mutations should often be rejected, were {rejected} times");
    }

    [Fact]
    public void Random_bytes_only_ever_raise_format_errors()
    {
        var rng = new Random(99);
        for (var i = 0; i < 20_000; i++)
        {
            var input = new byte[rng.Next(0, 64)];
            rng.NextBytes(input);
            RunAll(input);
        }
    }

    [Fact]
    public async Task Framer_fed_garbage_fails_cleanly_with_bounded_buffering()
    {
        var rng = new Random(7);
        for (var i = 0; i < 2_000; i++)
        {
            var input = new byte[rng.Next(0, 200)];
            rng.NextBytes(input);
            if (rng.Next(2) == 0 && input.Length >= 10)
            {
                input[0] = 0x04; // Version 1, so the length field is what gets tested.
            }

            var pipe = new Pipe();
            await pipe.Writer.WriteAsync(input);
            await pipe.Writer.CompleteAsync();
            var framer = new LlrpFramer(pipe.Reader, maxMessageLength: 64 * 1024);
            try
            {
                while (await framer.ReadAsync(CancellationToken.None) is { } m)
                {
                    m.Dispose();
                }
            }
            catch (LlrpFormatException)
            {
            }
        }
    }

    private static int RunAll(byte[] input)
    {
        var rejected = 0;
        foreach (var decode in Decoders)
        {
            try
            {
                decode(input);
            }
            catch (LlrpFormatException)
            {
                rejected++;
            }
        }

        return rejected;
    }

    private static void Mutate(Random rng, ref byte[] input)
    {
        switch (rng.Next(4))
        {
            case 0 when input.Length > 0:
                for (var k = rng.Next(1, 4); k > 0; k--)
                {
                    input[rng.Next(input.Length)] = (byte)rng.Next(256);
                }

                break;
            case 1 when input.Length > 0:
                Array.Resize(ref input, rng.Next(input.Length));
                break;
            case 2:
                var extra = new byte[rng.Next(1, 16)];
                rng.NextBytes(extra);
                input = [.. input, .. extra];
                break;
            default:
                if (input.Length > 3)
                {
                    // Corrupt a length field where a TLV header might be.
                    var at = rng.Next(input.Length - 3);
                    input[at + 2] = (byte)rng.Next(256);
                    input[at + 3] = (byte)rng.Next(256);
                }

                break;
        }
    }
}
