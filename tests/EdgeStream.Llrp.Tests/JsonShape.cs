using System.Text.Json;

namespace EdgeStream.Llrp.Tests;

/// <summary>
/// Compares a golden JSON rendering with the decoded model serialised to JSON: every field the golden
/// file names must be present with the same value (property names compared case-insensitively). The
/// golden files come from a Go program, which renders absent fields as null and some absent optional
/// values as their zero value (Uptime 0, an EPCData of 0 bits): those may be absent in the model.
/// </summary>
internal static class JsonShape
{
    public static int AssertMatches(JsonElement expected, JsonElement? actual, string path = "$")
    {
        if (expected.ValueKind == JsonValueKind.Null)
        {
            Assert.True(
                actual is null || actual.Value.ValueKind == JsonValueKind.Null || (actual.Value.ValueKind == JsonValueKind.Array && actual.Value.GetArrayLength() == 0),
                $"{path}: expected null/absent, got {actual}");
            return 1;
        }

        if (actual is null || actual.Value.ValueKind == JsonValueKind.Null)
        {
            Assert.True(IsGoZero(expected), $"{path}: missing in the decoded model, golden value {expected}");
            return 1;
        }

        var a = actual.Value;
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.Equal(JsonValueKind.Object, a.ValueKind);
                var count = 0;
                foreach (var p in expected.EnumerateObject())
                {
                    JsonElement? match = null;
                    foreach (var q in a.EnumerateObject())
                    {
                        if (string.Equals(p.Name, q.Name, StringComparison.OrdinalIgnoreCase))
                        {
                            match = q.Value;
                        }
                    }

                    count += AssertMatches(p.Value, match, path + "." + p.Name);
                }

                return count;
            case JsonValueKind.Array:
                Assert.True(a.ValueKind == JsonValueKind.Array, $"{path}: expected an array, got {a}");
                Assert.True(expected.GetArrayLength() == a.GetArrayLength(), $"{path}: expected {expected.GetArrayLength()} items, got {a.GetArrayLength()}");
                var n = 0;
                for (var i = 0; i < expected.GetArrayLength(); i++)
                {
                    n += AssertMatches(expected[i], a[i], $"{path}[{i}]");
                }

                return n;
            case JsonValueKind.Number:
                Assert.True(a.ValueKind == JsonValueKind.Number, $"{path}: expected number {expected}, got {a}");
                Assert.True(expected.GetDecimal() == a.GetDecimal(), $"{path}: expected {expected}, got {a}");
                return 1;
            case JsonValueKind.String:
                Assert.True(expected.GetString() == a.GetString(), $"{path}: expected '{expected}', got {a}");
                return 1;
            default:
                Assert.True(expected.ValueKind == a.ValueKind, $"{path}: expected {expected}, got {a}");
                return 1;
        }
    }

    private static bool IsGoZero(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDecimal() == 0,
        JsonValueKind.Object => e.EnumerateObject().Any() && e.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.Null || IsGoZero(p.Value)),
        _ => false,
    };
}
