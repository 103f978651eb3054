using System.Text;

namespace EdgeStream.Tracking.Storage.Sql;

/// <summary>Opaque list cursors: the last row's sort key, base64url-encoded so clients do not build them.</summary>
internal static class Cursor
{
    private const string Mark = "es1";

    public static string Encode(params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(Mark + "\u001f" + string.Join('\u001f', parts))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The parts of a cursor; throws <see cref="ArgumentException"/> for one this store did not give out.</summary>
    public static string[] Decode(string cursor, int parts)
    {
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
            var p = Encoding.UTF8.GetString(Convert.FromBase64String(b64)).Split('\u001f');
            if (p.Length == parts + 1 && p[0] == Mark)
            {
                return p[1..];
            }
        }
        catch (FormatException)
        {
            // Not base64: refused below like any other foreign cursor.
        }

        throw new ArgumentException($"cursor '{cursor}' is not one this service gave out.", nameof(cursor));
    }

    public static long Long(string text, string cursor) =>
        long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ArgumentException($"cursor '{cursor}' is not one this service gave out.", nameof(cursor));
}
