namespace EdgeStream.Tests;

/// <summary>A temporary folder, created at once and removed when the test ends (both test projects compile this file).</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "edgestream-")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

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
