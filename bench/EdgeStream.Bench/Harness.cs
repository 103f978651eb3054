using System.Diagnostics;
using System.Text.Json;

namespace EdgeStream.Bench;

/// <summary>One measured figure, printed as one JSON object per line.</summary>
public readonly record struct Figure(string Name, double Value, string Unit);

/// <summary>
/// A named group of benchmarks, selected on the command line (<c>./bench.sh wire readers</c>).
/// Suites are found by reflection, so adding one is adding a file.
/// </summary>
public interface IBenchmarkSuite
{
    /// <summary>The name used on the command line.</summary>
    string Name { get; }

    /// <summary>Runs the suite and yields its figures as they are measured.</summary>
    IAsyncEnumerable<Figure> RunAsync(CancellationToken cancellationToken);
}

/// <summary>Helpers shared by suites: timed loops and a stable machine description.</summary>
public static class Measure
{
    /// <summary>
    /// Runs <paramref name="iteration"/> repeatedly for about <paramref name="duration"/> after a warm-up,
    /// and returns units per second, where each call reports how many units it processed.
    /// </summary>
    public static double Throughput(Func<long> iteration, TimeSpan duration, TimeSpan? warmup = null) => Throughput(iteration, duration, warmup, prepare: null);

    /// <summary>
    /// As <see cref="Throughput(Func{long}, TimeSpan, TimeSpan?)"/>, with <paramref name="prepare"/> run before
    /// each iteration and left out of the clock: making the next pass's input (re-encoding records with
    /// their times moved on) is the producer's work, not the measured code's.
    /// </summary>
    public static double Throughput(Func<long> iteration, TimeSpan duration, TimeSpan? warmup, Action? prepare)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < (warmup ?? TimeSpan.FromMilliseconds(500)))
        {
            prepare?.Invoke();
            iteration();
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long units = 0;
        var timed = new Stopwatch();
        while (timed.Elapsed < duration)
        {
            prepare?.Invoke();
            timed.Start();
            units += iteration();
            timed.Stop();
        }

        return units / timed.Elapsed.TotalSeconds;
    }

    /// <summary>Bytes allocated on this thread by <paramref name="action"/>.</summary>
    public static long AllocatedBytes(Action action)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}

internal static class Program
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    public static async Task<int> Main(string[] args)
    {
        var suites = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(IBenchmarkSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IBenchmarkSuite)Activator.CreateInstance(t)!)
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();

        var unknown = args.Where(a => suites.All(s => s.Name != a)).ToList();
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync(
                $"Unknown benchmark(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", suites.Select(s => s.Name))}");
            return 2;
        }

        var selected = args.Length == 0 ? suites : suites.Where(s => args.Contains(s.Name)).ToList();
        await Console.Error.WriteLineAsync(
            $"# machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}");
        foreach (var suite in selected)
        {
            await Console.Error.WriteLineAsync($"# suite {suite.Name}");
            await foreach (var f in suite.RunAsync(CancellationToken.None))
            {
                var json = JsonSerializer.Serialize(
                    new Dictionary<string, object> { ["name"] = f.Name, ["value"] = Math.Round(f.Value, 3), ["unit"] = f.Unit },
                    JsonOptions);
                Console.WriteLine(json);
            }
        }

        return 0;
    }
}
