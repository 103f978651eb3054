using System.Diagnostics;

namespace EdgeStream.TestUtilities;

/// <summary>Two linked pseudo-terminals made by socat: the test writes to one end, a driver opens the other.</summary>
public sealed class PtyPair : IAsyncDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "edgestream-pty-" + Guid.NewGuid().ToString("N")[..12]);
    private Process? _socat;

    public string DevicePath => Path.Combine(_dir, "device");

    public FileStream Host { get; private set; } = null!;

    public static async Task<PtyPair> StartAsync()
    {
        var pair = new PtyPair();
        Directory.CreateDirectory(pair._dir);
        var hostEnd = Path.Combine(pair._dir, "host");
        var psi = new ProcessStartInfo("socat") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { $"pty,raw,echo=0,link={hostEnd}", $"pty,raw,echo=0,link={pair.DevicePath}" })
        {
            psi.ArgumentList.Add(a);
        }

        pair._socat = Process.Start(psi)!;
        pair._socat.ErrorDataReceived += (_, _) => { };
        pair._socat.BeginErrorReadLine();
        await Wait.UntilAsync(() => File.Exists(hostEnd) && File.Exists(pair.DevicePath), () => "socat did not create the ptys");
        pair.Host = new FileStream(hostEnd, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        return pair;
    }

    public async Task WriteAsync(string text)
    {
        await Host.WriteAsync(System.Text.Encoding.ASCII.GetBytes(text));
        await Host.FlushAsync();
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_socat is { HasExited: false })
        {
            _socat.Kill();
            await _socat.WaitForExitAsync();
        }

        _socat?.Dispose();
        await Host.DisposeAsync();
        Directory.Delete(_dir, true);
    }
}
