namespace EdgeStream.Llrp.Tests;

/// <summary>Locates the LLRP golden captures that sit beside the repository.</summary>
internal static class Fixtures
{
    public static string LlrpDirectory { get; } = Find();

    public static IEnumerable<string> Names(string prefix) =>
        Directory.GetFiles(LlrpDirectory, prefix + "*.bytes").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(LlrpDirectory, name + ".bytes"));

    public static string Json(string name) => File.ReadAllText(Path.Combine(LlrpDirectory, name + ".json"));

    private static string Find()
    {
        var env = Environment.GetEnvironmentVariable("EDGESTREAM_LLRP_FIXTURES");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeStream.sln")))
            {
                var candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "llrp-fixtures"));
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException("LLRP fixtures not found: expected ../shared/llrp-fixtures beside the repository, or EDGESTREAM_LLRP_FIXTURES.");
    }
}
