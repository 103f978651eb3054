namespace EdgeStream.Readers;

/// <summary>
/// The link to a reader failed in a way the driver recovers from by reconnecting: the reader refused
/// the connection or the configuration, went silent past its deadline, or sent bytes that broke framing.
/// </summary>
public sealed class ReaderLinkException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ReaderLinkException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ReaderLinkException()
        : base("Reader link failed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public ReaderLinkException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
