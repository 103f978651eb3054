namespace EdgeStream.Tests;

/// <summary>A temporary folder, created at once and removed when the test ends (both test projects compile this file).</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "edgestream-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
