using System.Text.Json;
using EdgeStream.Contracts;

namespace EdgeStream.Readers.Scanners;

/// <summary>
/// The body of <c>POST /api/scans</c> from a handheld app:
/// <c>{"operator":"nurse-4","device":"ward-3-handheld","zone":"ward-3","scans":[{"code":"3034…","time":"2026-11-24T08:00:00.123Z","zone":"bay-2"}]}</c>.
/// <c>device</c> and each <c>time</c> are optional (the endpoint's reader id and the arrival time stand in).
/// <c>zone</c> (for the request, or per scan) is where the person scanned the tags: the cloud places them
/// there as manual placements by the operator. Without one a scan is a sighting only.
/// </summary>
public static class ScanRequest
{
    /// <summary>Most scans accepted in one request.</summary>
    public const int MaxScans = 1000;

    /// <summary>Largest body accepted, in bytes.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    /// <summary>
    /// Validates a request body and turns it into reads. On failure, <paramref name="error"/> names the
    /// offending field (e.g. <c>scans[3].code: …</c>) and nothing is accepted: a request is all or nothing.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> body, string defaultReaderId, long nowUs, out TagRead[] reads, out string error)
    {
        reads = [];
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            error = "body is empty: expected a JSON object with 'operator' and 'scans'";
            return false;
        }

        // Strings are read as .NET strings below, which throws on invalid UTF-8: refuse it up front.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            error = "body is not valid UTF-8";
            return false;
        }

        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 8 });
            if (!JsonDocument.TryParseValue(ref reader, out var parsed))
            {
                error = "body is empty: expected a JSON object with 'operator' and 'scans'";
                return false;
            }

            doc = parsed;
        }
        catch (JsonException ex)
        {
            error = $"body is not JSON: {ex.Message}";
            return false;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "body must be a JSON object with 'operator' and 'scans'";
                return false;
            }

            if (!root.TryGetProperty("operator", out var op) || op.ValueKind != JsonValueKind.String || op.GetString() is not { Length: > 0 and <= 64 } operatorId || string.IsNullOrWhiteSpace(operatorId))
            {
                error = "operator: required, a string of 1..64 characters";
                return false;
            }

            var readerId = defaultReaderId;
            if (root.TryGetProperty("device", out var dev) && dev.ValueKind != JsonValueKind.Null)
            {
                if (dev.ValueKind != JsonValueKind.String || dev.GetString() is not { Length: > 0 and <= 64 } device)
                {
                    error = "device: a string of 1..64 characters when given";
                    return false;
                }

                readerId = device;
            }

            if (!TryZone(root, "zone", null, out var requestZone, out error))
            {
                return false;
            }

            if (!root.TryGetProperty("scans", out var scans) || scans.ValueKind != JsonValueKind.Array || scans.GetArrayLength() == 0)
            {
                error = "scans: required, a non-empty array of {code, time?}";
                return false;
            }

            if (scans.GetArrayLength() > MaxScans)
            {
                error = $"scans: {scans.GetArrayLength()} scans in one request; at most {MaxScans}";
                return false;
            }

            var result = new TagRead[scans.GetArrayLength()];
            var i = 0;
            foreach (var scan in scans.EnumerateArray())
            {
                if (scan.ValueKind != JsonValueKind.Object || !scan.TryGetProperty("code", out var code) || code.ValueKind != JsonValueKind.String)
                {
                    error = $"scans[{i}].code: required, a string";
                    return false;
                }

                if (!ScanParser.TryParse(code.GetString(), out var epc, out var why))
                {
                    error = $"scans[{i}].code: {why}";
                    return false;
                }

                var timeUs = nowUs;
                if (scan.TryGetProperty("time", out var time) && time.ValueKind != JsonValueKind.Null)
                {
                    if (time.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(time.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var t)
                        || !(time.GetString()!.EndsWith('Z') || time.GetString()!.Contains('+', StringComparison.Ordinal) || time.GetString()!.LastIndexOf('-') > 10))
                    {
                        error = $"scans[{i}].time: an ISO-8601 time with a UTC offset, e.g. 2026-11-24T08:00:00.123Z";
                        return false;
                    }

                    timeUs = EventTimes.ToUnixMicroseconds(t);
                }

                if (!TryZone(scan, "zone", $"scans[{i}].", out var scanZone, out error))
                {
                    return false;
                }

                result[i++] = new TagRead
                {
                    Epc = epc,
                    ReaderId = readerId,
                    Antenna = 0,
                    RssiCentiDbm = TagRead.NoRssi,
                    EventTimeUs = timeUs,
                    Source = SourceKind.Handheld,
                    SeenCount = 1,
                    OperatorId = operatorId,
                    Zone = scanZone ?? requestZone,
                };
            }

            reads = result;
            error = string.Empty;
            return true;
        }
    }

    private static bool TryZone(JsonElement node, string name, string? prefix, out string? zone, out string error)
    {
        zone = null;
        error = string.Empty;
        if (!node.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 and <= 64 } z || string.IsNullOrWhiteSpace(z))
        {
            error = $"{prefix}{name}: a zone name of 1..64 characters when given";
            return false;
        }

        zone = z;
        return true;
    }
}
