using System.Diagnostics;
using System.Text.RegularExpressions;

namespace EdgeStream.Bench.Suites;

/// <summary>Starting the product's programs from the bench's output folder, as a user starts them, and reading what they print.</summary>
internal static partial class BenchProcesses
{
    /// <summary>Starts <c>dotnet DLL ARGS</c>; its standard output is collected in <paramref name="output"/>.</summary>
    public static Process Start(string dll, string[] args, out System.Text.StringBuilder output)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        var sb = new System.Text.StringBuilder();
        output = sb;
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (sb)
                {
                    sb.AppendLine(e.Data);
                }
            }
        };
        p.ErrorDataReceived += (_, e) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Waits (60 s at most) until <paramref name="output"/> holds <paramref name="line"/>; returns the output so far.</summary>
    public static async Task<string> WaitForAsync(System.Text.StringBuilder output, string line, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            string text;
            lock (output)
            {
                text = output.ToString();
            }

            if (text.Contains(line, StringComparison.Ordinal))
            {
                return text;
            }

            await Task.Delay(50, ct);
        }

        throw new TimeoutException($"'{line}' not printed within 60 s");
    }

    /// <summary>The portal's URL and the MQTT port the cloud printed at start.</summary>
    public static (Uri Portal, int MqttPort) CloudEndpoints(string output) =>
        (new Uri(PortalLine().Match(output).Groups[1].Value), int.Parse(MqttLine().Match(output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"(?m)^cloud: portal (http://\S+/)")]
    private static partial Regex PortalLine();

    [GeneratedRegex(@"(?m)^cloud: mqtt 127\.0\.0\.1:(\d+)")]
    private static partial Regex MqttLine();
}
