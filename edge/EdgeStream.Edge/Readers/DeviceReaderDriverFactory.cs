using EdgeStream.Readers;

namespace EdgeStream.Edge.Readers;

/// <summary>
/// The daemon's driver factory: built-in drivers (<c>sim://</c>) first, then the device drivers of
/// <c>EdgeStream.Readers</c> given as <paramref name="deviceDrivers"/> (<c>llrp://</c>, <c>serial://</c>).
/// </summary>
public sealed class DeviceReaderDriverFactory(
    BuiltInReaderDriverFactory builtIn,
    Func<string, string, ILoggerFactory, IReaderDriver>? deviceDrivers,
    ILoggerFactory loggerFactory) : IReaderDriverFactory
{
    /// <inheritdoc/>
    public IReaderDriver Create(string readerUri, string readerId)
    {
        if (readerUri.StartsWith(SimulatedReaderDriver.Scheme + "://", StringComparison.OrdinalIgnoreCase) || deviceDrivers is null)
        {
            return builtIn.Create(readerUri, readerId);
        }

        return deviceDrivers(readerUri, readerId, loggerFactory);
    }
}
