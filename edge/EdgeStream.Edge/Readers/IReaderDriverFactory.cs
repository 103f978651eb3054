using EdgeStream.Readers;

namespace EdgeStream.Edge.Readers;

/// <summary>
/// Creates the driver for a reader URI. The daemon asks this for every <c>--reader</c> at start-up,
/// so an unsupported or malformed URI stops the start with a message naming the key.
/// </summary>
public interface IReaderDriverFactory
{
    /// <summary>Creates the driver; throws <see cref="ArgumentException"/> for a URI it cannot drive.</summary>
    IReaderDriver Create(string readerUri, string readerId);
}

/// <summary>
/// The drivers built into the daemon: <c>sim://</c>, a simulated reader for commissioning and load
/// tests. Device drivers (<c>llrp://</c>, <c>serial://</c>) come from <c>EdgeStream.Readers</c>.
/// </summary>
public sealed class BuiltInReaderDriverFactory(TimeProvider time) : IReaderDriverFactory
{
    /// <inheritdoc/>
    public IReaderDriver Create(string readerUri, string readerId)
    {
        if (readerUri.StartsWith(SimulatedReaderDriver.Scheme + "://", StringComparison.OrdinalIgnoreCase))
        {
            return new SimulatedReaderDriver(SimulatedReaderOptions.Parse(readerUri), readerId, time);
        }

        throw new ArgumentException($"'{readerUri}': no driver for this scheme in this build (supported: sim://).");
    }
}

/// <summary>Reader ids: the URI's <c>id</c> query parameter, else <c>reader-N</c> by position.</summary>
public static class ReaderIds
{
    /// <summary>The id of the reader at <paramref name="index"/> (0-based).</summary>
    public static string For(string readerUri, int index)
    {
        var q = readerUri.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            foreach (var part in readerUri[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                if (part.StartsWith("id=", StringComparison.Ordinal) && part.Length > 3)
                {
                    return Uri.UnescapeDataString(part[3..]);
                }
            }
        }

        return $"reader-{index + 1}";
    }
}
