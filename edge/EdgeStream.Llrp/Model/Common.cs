using System.Text;

namespace EdgeStream.Llrp.Model;

/// <summary>A vendor extension parameter, kept as raw bytes so nothing a reader sends is lost or misread.</summary>
public sealed record CustomParameter(uint VendorId, uint Subtype, byte[] Data);

/// <summary>LLRP status codes (LLRPStatus.StatusCode).</summary>
public enum LlrpStatusCode : ushort
{
#pragma warning disable CS1591 // The spec's names.
    Success = 0,
    ParameterError = 100,
    FieldError = 101,
    UnexpectedParameter = 102,
    MissingParameter = 103,
    DuplicateParameter = 104,
    OverflowParameter = 105,
    OverflowField = 106,
    UnknownParameter = 107,
    UnknownField = 108,
    UnsupportedMessage = 109,
    UnsupportedVersion = 110,
    UnsupportedParameter = 111,
    ParameterErrorInParameter = 200,
    FieldErrorInParameter = 201,
    UnexpectedParameterInParameter = 202,
    MissingParameterInParameter = 203,
    DuplicateParameterInParameter = 204,
    OverflowParameterInParameter = 205,
    OverflowFieldInParameter = 206,
    UnknownParameterInParameter = 207,
    UnknownFieldInParameter = 208,
    UnsupportedParameterInParameter = 209,
    InvalidField = 300,
    OutOfRange = 301,
    DeviceError = 401,
#pragma warning restore CS1591
}

/// <summary>The error detail that points at one field.</summary>
public sealed record FieldError(ushort FieldNum, ushort ErrorCode);

/// <summary>The error detail that points at one parameter (and possibly a field or sub-parameter inside it).</summary>
public sealed record ParameterError(ushort ParameterType, ushort ErrorCode, FieldError? FieldError, ParameterError? NestedParameterError);

/// <summary>The outcome every response carries. Non-success statuses are surfaced with their description.</summary>
public sealed record LlrpStatus(ushort Status, string ErrorDescription, FieldError? FieldError, ParameterError? ParameterError)
{
    /// <summary>A success status.</summary>
    public static LlrpStatus Success { get; } = new(0, string.Empty, null, null);

    /// <summary>True when the request succeeded.</summary>
    public bool IsSuccess => Status == 0;

    /// <summary>One line: the code's name, the reader's description and the error location.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(Enum.IsDefined((LlrpStatusCode)Status) ? ((LlrpStatusCode)Status).ToString() : $"status {Status}");
        if (!string.IsNullOrEmpty(ErrorDescription))
        {
            sb.Append(": ").Append(ErrorDescription);
        }

        if (FieldError is { } f)
        {
            sb.Append($" (field {f.FieldNum}, error {f.ErrorCode})");
        }

        for (var p = ParameterError; p is not null; p = p.NestedParameterError)
        {
            sb.Append($" (parameter {p.ParameterType}, error {p.ErrorCode}");
            if (p.FieldError is { } pf)
            {
                sb.Append($", field {pf.FieldNum} error {pf.ErrorCode}");
            }

            sb.Append(')');
        }

        return sb.ToString();
    }
}

/// <summary>A response that carries only a status (ADD_ROSPEC_RESPONSE, CLOSE_CONNECTION_RESPONSE, …) or an ERROR_MESSAGE.</summary>
public sealed record StatusResponse(LlrpStatus LlrpStatus);
