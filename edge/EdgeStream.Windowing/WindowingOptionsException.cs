namespace EdgeStream.Windowing;

/// <summary>
/// Windowing configuration that cannot be applied. <see cref="Key"/> names the offending configuration
/// key (e.g. <c>Windowing:Zones:2:Antennas:0:Antenna</c>) so the portal and the log can point at it.
/// </summary>
public sealed class WindowingOptionsException : Exception
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public WindowingOptionsException(string key, string message, Exception? inner = null)
        : base($"{key}: {message}", inner)
    {
        Key = key;
    }

    /// <summary>The configuration key at fault.</summary>
    public string Key { get; }
}
