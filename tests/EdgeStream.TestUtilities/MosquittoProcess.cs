using System.Diagnostics;
using System.Net.Sockets;

namespace EdgeStream.TestUtilities;

/// <summary>A real Mosquitto broker, started by the test on a free loopback port and killed at the end.</summary>
public sealed class MosquittoProcess : IDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _dir = new();

    private MosquittoProcess(Process process, int port, TempDirectory dir)
    {
        _process = process;
        Port = port;
        _dir = dir;
    }

    public int Port { get; }

    /// <summary>Starts Mosquitto; with <paramref name="tlsConfig"/> (lines for the listener, given the temp folder) the listener uses TLS.</summary>
    public static async Task<MosquittoProcess> StartAsync(Func<string, string>? tlsConfig = null)
    {
        var dir = new TempDirectory();
        var port = Net.FreePort();
        var conf = Path.Combine(dir.Path, "mosquitto.conf");
        var tls = tlsConfig?.Invoke(dir.Path) ?? string.Empty;
        await File.WriteAllTextAsync(conf, $"""
            listener {port} 127.0.0.1
            {tls}
            allow_anonymous true
            persistence false
            max_queued_messages 100000
            max_inflight_messages 256
            log_dest stderr
            log_type error
            """);
        var process = Process.Start(new ProcessStartInfo("mosquitto", ["-c", conf]) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException("mosquitto did not start (is it installed? scripts/setup.sh installs it).");
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await Eventually.TrueAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with {process.ExitCode}.");
            }

            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "mosquitto to listen");
        return new MosquittoProcess(process, port, dir);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(30_000);
        }

        _process.Dispose();
        _dir.Dispose();
    }
}
