using System.Text;
using EdgeStream.Contracts;

namespace EdgeStream.Readers.Scanners;

/// <summary>
/// Turns what a scanner produced — one code — into an <see cref="Epc"/>. A code is an EPC when it is
/// prefixed <c>epc:</c>, or (without a prefix) when it is an even number of at least 24 hex digits (96
/// bits or more, what RFID handhelds print); otherwise it is a barcode (prefix <c>barcode:</c> forces
/// it), held as its ASCII bytes so it flows through the same pipeline as a tag.
/// </summary>
public static class ScanParser
{
    /// <summary>The longest barcode accepted: 62 characters (496 bits, the longest EPC).</summary>
    public const int MaxBarcodeLength = Epc.MaxBits / 8;

    /// <summary>Parses one code; false with a reason when it is not acceptable.</summary>
    public static bool TryParse(ReadOnlySpan<char> code, out Epc epc, out string error)
    {
        epc = default;
        code = code.Trim();
        if (code.IsEmpty)
        {
            error = "empty code";
            return false;
        }

        if (code.StartsWith("epc:", StringComparison.OrdinalIgnoreCase))
        {
            var hex = code[4..].Trim();
            if (Epc.TryParseHex(hex, out epc))
            {
                error = string.Empty;
                return true;
            }

            error = $"'{Shorten(code)}' is not an EPC: expected an even number of hex digits, 2..124";
            return false;
        }

        var forcedBarcode = code.StartsWith("barcode:", StringComparison.OrdinalIgnoreCase);
        if (forcedBarcode)
        {
            code = code[8..].Trim();
        }
        else if (code.Length >= 24 && Epc.TryParseHex(code, out epc))
        {
            error = string.Empty;
            return true;
        }

        if (code.IsEmpty || code.Length > MaxBarcodeLength)
        {
            error = $"barcode '{Shorten(code)}' has {code.Length} characters; 1..{MaxBarcodeLength} are accepted";
            return false;
        }

        Span<byte> bytes = stackalloc byte[code.Length];
        for (var i = 0; i < code.Length; i++)
        {
            var c = code[i];
            if (c is < (char)0x21 or > (char)0x7E)
            {
                error = $"barcode '{Shorten(code)}' has a character that is not printable ASCII at position {i + 1}";
                return false;
            }

            bytes[i] = (byte)c;
        }

        epc = Epc.FromBytes(bytes);
        error = string.Empty;
        return true;
    }

    /// <summary>Renders a code for an error message: printable, at most 40 characters.</summary>
    public static string Shorten(ReadOnlySpan<char> code)
    {
        var sb = new StringBuilder();
        foreach (var c in code[..Math.Min(code.Length, 40)])
        {
            sb.Append(c is < (char)0x20 or > (char)0x7E ? '?' : c);
        }

        return code.Length > 40 ? sb.Append('…').ToString() : sb.ToString();
    }
}
