using EdgeStream.Engine.Io;
using EdgeStream.Engine.TestHost;

namespace EdgeStream.Engine.Tests;

/// <summary>A checkpoint payload is an input boundary: damaged bytes must give a clear format error, never another exception.</summary>
[Trait("Capability", "Engine")]
public sealed class Checkpoint_decoding_of_fuzzed_bytes
{
    [Fact]
    public void Damaged_payloads_restore_or_fail_with_a_format_error()
    {
        var kit = new TaskKit();
        kit.Feed(TestData.ShuffleWithinBound(TestData.Generate(3, 3_000, keys: 100, sources: 3), 50_000, 4));
        var snapshot = kit.Task.BeginCheckpoint(1);
        using var w = new SnapshotWriter();
        kit.Task.WriteCheckpoint(snapshot, w);
        var payload = w.WrittenSpan.ToArray();

        var rng = new Random(12);
        var formatErrors = 0;
        for (var round = 0; round < 2_000; round++)
        {
            var damaged = (byte[])payload.Clone();
            switch (round % 3)
            {
                case 0:
                    damaged[rng.Next(damaged.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    damaged = damaged[..rng.Next(damaged.Length)];
                    break;
                default:
                    for (var i = 0; i < 8; i++)
                    {
                        damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
                    }

                    break;
            }

            try
            {
                new TaskKit().Task.Restore(damaged);
            }
            catch (CheckpointFormatException)
            {
                formatErrors++;
            }
        }

        Assert.True(formatErrors > 500, $"only {formatErrors} damaged payloads were refused");
    }
}
