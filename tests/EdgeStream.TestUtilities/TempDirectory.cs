namespace EdgeStream.TestUtilities;

/// <summary>A temporary folder, created at once and removed when the test ends (both test projects compile this file).</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "edgestream-")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        // Not Directory.CreateTempSubdirectory: its folder is 0700, and Mosquitto, started as root, drops to
        // its own user and must read the TLS files tests write here.
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
