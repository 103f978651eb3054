namespace EdgeStream.Contracts.Wire;

/// <summary>Why a payload was refused; the cloud uses it as the dead-letter reason.</summary>
public enum WireError
{
    /// <summary>Does not start with the EdgeStream magic bytes.</summary>
    BadMagic,

    /// <summary>A payload version this build does not understand.</summary>
    UnsupportedVersion,

    /// <summary>Ends before the structure it announces.</summary>
    Truncated,

    /// <summary>The CRC-32C trailer does not match: corrupted in transit or storage.</summary>
    BadChecksum,

    /// <summary>A count or length exceeds the format's limits.</summary>
    LimitExceeded,

    /// <summary>Structurally invalid: unknown enum value, bad index, trailing bytes.</summary>
    Malformed,
}

/// <summary>A payload that is not a valid EdgeStream batch. The message says what and where.</summary>
public sealed class WireFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WireFormatException(WireError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates the exception.</summary>
    public WireFormatException()
        : this(WireError.Malformed, "Malformed payload.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public WireFormatException(string message)
        : this(WireError.Malformed, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public WireFormatException(string message, Exception innerException)
        : base(message, innerException) => Error = WireError.Malformed;

    /// <summary>The kind of failure, stable for counting and dead-letter reasons.</summary>
    public WireError Error { get; }
}
