namespace EdgeStream.Llrp;

/// <summary>
/// Bytes that are not a valid LLRP message or parameter. The message names the structure and the
/// offset, so a rejected frame in a log says what was wrong with it.
/// </summary>
public sealed class LlrpFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LlrpFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LlrpFormatException()
        : base("Malformed LLRP message.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public LlrpFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
