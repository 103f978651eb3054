using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeStream.TestUtilities;

/// <summary>The built edge daemon (<c>edgestream-edge.dll</c>) run as a child process, with its /metrics.</summary>
public sealed partial class EdgeDaemonProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Process _process;
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private EdgeDaemonProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri? BaseUri { get; private set; }

    /// <summary>Every line the daemon writes (stdout and stderr), as it comes.</summary>
    public event Action<string>? Line;

    public string Output => string.Join('\n', _output.TakeLast(40));

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static string DaemonDll()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "edgestream-edge.dll");
        return File.Exists(beside) ? beside : throw new FileNotFoundException("edgestream-edge.dll is not next to the test assembly; build the solution.");
    }

    public static EdgeDaemonProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(DaemonDll());
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        ChildProcess.DropInheritedOptions(psi);
        psi.Environment["DOTNET_gcServer"] = "0";
        return new EdgeDaemonProcess(Process.Start(psi)!);
    }

    /// <summary>Waits for the "listening on" line and returns the base address of /metrics.</summary>
    public async Task<Uri> WaitListeningAsync()
    {
        var exited = _process.WaitForExitAsync();
        var done = await Task.WhenAny(_listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (done != _listening.Task)
        {
            throw new InvalidOperationException($"The daemon did not start listening. Output:\n{Output}");
        }

        return BaseUri = await _listening.Task;
    }

    public async Task<string> ScrapeAsync() => await Http.GetStringAsync(new Uri(BaseUri!, "/metrics"));

    public async Task<(int Status, string Body)> HealthAsync()
    {
        using var r = await Http.GetAsync(new Uri(BaseUri!, "/healthz"));
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    public static double Metric(string scrape, string name)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"{name} not in /metrics.");
    }

    /// <summary>kill -9.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as systemd stops the service.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return _process.ExitCode;
    }

    public async Task<int> WaitExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return _process.ExitCode;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        Line?.Invoke(line);
        while (_output.Count > 200)
        {
            _output.TryDequeue(out _);
        }

        var m = ListeningRegex().Match(line);
        if (m.Success)
        {
            _listening.TrySetResult(new Uri(m.Groups[1].Value));
        }
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex ListeningRegex();

    public ValueTask DisposeAsync()
    {
        KillHard();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
