using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace EdgeStream.TestUtilities;

/// <summary>
/// A product program (edge, cloud, emulator) run as a real child process from the test's output
/// folder, with its output captured line by line so a test can wait for what it prints.
/// Disposal kills the whole process tree.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _log = new();
    private readonly SemaphoreSlim _signal = new(0);

    private ChildProcess(Process process) => _process = process;

    /// <summary>Everything the process printed so far (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The OS process id.</summary>
    public int Id => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Exit code once exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <c>dotnet {dll} {args}</c>, where <paramref name="dll"/> is a file in the test's output folder.</summary>
    public static ChildProcess StartDotnet(string dll, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        DropInheritedOptions(psi);
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        psi.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Exited += (_, _) => child._signal.Release();
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start dotnet {dll}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// The programs read EDGESTREAM_* variables as options: a child gets only those the test gives it,
    /// never whatever the shell that runs the tests happens to carry.
    /// </summary>
    public static void DropInheritedOptions(ProcessStartInfo psi)
    {
        foreach (var inherited in psi.Environment.Keys.Where(k => k.StartsWith("EDGESTREAM_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(inherited);
        }
    }

    /// <summary>
    /// Waits until a line printed since the start (or since line <paramref name="fromLine"/>) matches
    /// <paramref name="pattern"/>, and returns the match.
    /// </summary>
    /// <exception cref="TimeoutException">Not printed in time, or the process exited first; the message carries its output.</exception>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout, int fromLine = 0)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant);
        var deadline = DateTime.UtcNow + timeout;
        var next = fromLine;
        var drained = false;
        while (true)
        {
            lock (_lines)
            {
                for (; next < _lines.Count; next++)
                {
                    var m = regex.Match(_lines[next]);
                    if (m.Success)
                    {
                        return m;
                    }
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (_process.HasExited && !drained)
            {
                // Exited: wait until its output streams are read to the end, then scan once more.
                await _process.WaitForExitAsync();
                drained = true;
                continue;
            }

            if (left <= TimeSpan.Zero || drained)
            {
                throw new TimeoutException($"No line matching /{pattern}/ within {timeout} (exited: {_process.HasExited}). Output:\n{Output}");
            }

            await _signal.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>How many lines the process has printed so far.</summary>
    public int LineCount
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>Kills the process tree at once (SIGKILL), as a power cut or OOM kill would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Waits for the process to exit by itself (and its output to be read); returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Asks the process to stop (SIGTERM) and waits for it to exit.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync();
        }

        return await WaitForExitAsync(timeout);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // never started
        }

        _process.Dispose();
        _signal.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }

        lock (_lines)
        {
            _lines.Add(line);
        }

        _signal.Release();
    }
}
