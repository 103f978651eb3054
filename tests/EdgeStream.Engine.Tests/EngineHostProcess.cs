using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeStream.Engine.TestHost;
using EdgeStream.EventLog;

namespace EdgeStream.Engine.Tests;

/// <summary>
/// A stream-service child process (the EdgeStream.Engine.TestHost program) that a test can command on
/// stdin, watch on stdout and kill with SIGKILL.
/// </summary>
internal sealed class EngineHostProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private EngineHostProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
                _lineArrived.Release();
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue("stderr: " + e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyCollection<string> Lines => _lines;

    public bool HasExited => _process.HasExited;

    public static EngineHostProcess Start(string log, string checkpoints, string output, int partitionCount, string partitions, int paceMs, bool exitWhenEnded, int checkpointMs = 40, IEnumerable<string>? extra = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "EdgeStream.Engine.TestHost.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            dll, "--log", log, "--checkpoints", checkpoints, "--out", output,
            "--partition-count", partitionCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--partitions", partitions, "--pace-ms", paceMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--checkpoint-ms", checkpointMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            psi.ArgumentList.Add(a);
        }

        if (exitWhenEnded)
        {
            psi.ArgumentList.Add("--exit-when-ended");
        }

        foreach (var a in extra ?? [])
        {
            psi.ArgumentList.Add(a);
        }

        return new EngineHostProcess(Process.Start(psi) ?? throw new InvalidOperationException("could not start the engine host"));
    }

    public async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits until the process has printed a line matching <paramref name="predicate"/>.</summary>
    public async Task WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!_lines.Any(predicate))
        {
            if (_process.HasExited && !_lines.Any(predicate))
            {
                // Drain what the reader threads still hold before giving up.
                await _process.WaitForExitAsync(cts.Token);
                if (_lines.Any(predicate))
                {
                    return;
                }

                throw new InvalidOperationException($"engine host exited ({_process.ExitCode}) without printing the expected line; output:\n{string.Join('\n', _lines)}");
            }

            try
            {
                await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(50), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no expected line within {timeout}; output:\n{string.Join('\n', _lines)}");
            }
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"engine host did not exit within {timeout}; output:\n{string.Join('\n', _lines)}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no finally blocks, no flush, no final checkpoint.</summary>
    public async Task KillNineAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        _lineArrived.Dispose();
    }
}
