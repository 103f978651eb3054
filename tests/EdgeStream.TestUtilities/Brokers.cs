using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MQTTnet.Server;

namespace EdgeStream.TestUtilities;

/// <summary>A broker a test talks to: the in-process MQTTnet server or a real Mosquitto.</summary>
public interface ITestBroker : IAsyncDisposable
{
    /// <summary>Loopback port the broker listens on.</summary>
    int Port { get; }

    /// <summary>mqtt://127.0.0.1:port</summary>
    Uri Uri { get; }
}

public static class FreePort
{
    /// <summary>A port free a moment ago: bind port 0, read it back, release it. Callers retry on a collision.</summary>
    public static int Pick()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static async Task<bool> Accepts(int port)
    {
        try
        {
            using var c = new TcpClient();
            await c.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>The in-process MQTTnet broker with persistent sessions.</summary>
public sealed class InProcessBroker : ITestBroker
{
    private readonly MqttServer _server;

    private InProcessBroker(MqttServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    public Uri Uri => new($"mqtt://127.0.0.1:{Port}");

    public static async Task<InProcessBroker> StartAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort.Pick();
            var options = new MqttServerOptionsBuilder()
                .WithDefaultEndpoint()
                .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
                .WithDefaultEndpointPort(port)
                .WithPersistentSessions(true)
                .WithMaxPendingMessagesPerClient(1_000_000)
                .Build();
            var server = new MqttServerFactory().CreateMqttServer(options);
            try
            {
                await server.StartAsync();
                return new InProcessBroker(server, port);
            }
            catch (SocketException) when (attempt < 5)
            {
                server.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        _server.Dispose();
    }
}

/// <summary>
/// A real Mosquitto process on a loopback port, with a generated configuration (anonymous access,
/// unlimited queues so the test subscriber never loses a message to a queue limit).
/// </summary>
public sealed class MosquittoBroker : ITestBroker
{
    private readonly string _dir;
    private Process _process;

    private MosquittoBroker(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public Uri Uri => new($"mqtt://127.0.0.1:{Port}");

    public static async Task<MosquittoBroker> StartAsync()
    {
        var exe = new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("mosquitto is not installed: run scripts/setup.sh.");
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort.Pick();
            var dir = Path.Combine(Path.GetTempPath(), "es-mosquitto-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            var conf = Path.Combine(dir, "mosquitto.conf");
            await File.WriteAllTextAsync(conf, $"""
                listener {port} 127.0.0.1
                allow_anonymous true
                persistence false
                max_queued_messages 0
                max_inflight_messages 0
                log_type error
                log_dest stderr

                """);
            var process = Launch(exe, conf);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!process.HasExited && DateTime.UtcNow < deadline && !await FreePort.Accepts(port))
            {
                await Task.Delay(20);
            }

            if (!process.HasExited && await FreePort.Accepts(port))
            {
                return new MosquittoBroker(process, dir, port);
            }

            // Port taken between picking and binding (or a slow start): try another.
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.Dispose();
            Directory.Delete(dir, true);
            if (attempt >= 5)
            {
                throw new InvalidOperationException("mosquitto did not start on a loopback port.");
            }
        }
    }

    /// <summary>The broker goes down: the process is killed, every connection drops, new ones are refused.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the broker again on the same port with the same configuration; waits until it accepts connections.</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        var exe = new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.First(File.Exists);
        var conf = Path.Combine(_dir, "mosquitto.conf");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            _process.Dispose();
            _process = Launch(exe, conf);
            while (!_process.HasExited && DateTime.UtcNow < deadline && !await FreePort.Accepts(Port))
            {
                await Task.Delay(20);
            }

            if (!_process.HasExited && await FreePort.Accepts(Port))
            {
                return;
            }

            // The old socket may linger a moment after the kill: try again until the deadline.
            if (DateTime.UtcNow >= deadline)
            {
                throw new InvalidOperationException($"mosquitto did not restart on port {Port}.");
            }

            await KillAsync();
            await Task.Delay(50);
        }
    }

    private static Process Launch(string exe, string conf)
    {
        var psi = new ProcessStartInfo(exe, ["-c", conf]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        Directory.Delete(_dir, true);
    }
}
