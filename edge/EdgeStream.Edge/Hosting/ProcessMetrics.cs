using System.Diagnostics.Metrics;
using System.Globalization;

namespace EdgeStream.Edge.Hosting;

/// <summary>
/// The daemon's own footprint on <c>/metrics</c>: resident memory, threads and what the GC holds.
/// A gateway has a memory budget (64 MB RSS); these series show an operator where it goes and
/// whether it stays flat over days, without attaching a diagnostics tool to the device.
/// </summary>
internal static class ProcessMetrics
{
    /// <summary>Creates the observable instruments on <paramref name="meter"/>; each is read only when scraped.</summary>
    public static void Register(Meter meter)
    {
        meter.CreateObservableGauge("edgestream_edge_process_resident_bytes", ResidentBytes, unit: "By", description: "Resident memory of the daemon (VmRSS).");
        meter.CreateObservableGauge("edgestream_edge_process_threads", Threads, description: "Threads of the daemon process.");
        meter.CreateObservableGauge("edgestream_edge_gc_heap_bytes", () => GC.GetGCMemoryInfo().HeapSizeBytes, unit: "By", description: "Managed heap size after the last collection (0 before the first).");
        meter.CreateObservableGauge("edgestream_edge_gc_committed_bytes", () => GC.GetGCMemoryInfo().TotalCommittedBytes, unit: "By", description: "Memory the GC had committed for the managed heap at the last collection (0 before the first).");
        meter.CreateObservableCounter("edgestream_edge_gc_allocated_bytes_total", () => GC.GetTotalAllocatedBytes(), unit: "By", description: "Managed bytes allocated since start.");
        meter.CreateObservableCounter("edgestream_edge_gc_collections_total", () => new[]
        {
            new Measurement<long>(GC.CollectionCount(0), new KeyValuePair<string, object?>("generation", "0")),
            new Measurement<long>(GC.CollectionCount(1), new KeyValuePair<string, object?>("generation", "1")),
            new Measurement<long>(GC.CollectionCount(2), new KeyValuePair<string, object?>("generation", "2")),
        }, description: "Garbage collections by generation since start.");
    }

    // /proc/self/statm: "size resident shared text lib data dt" in pages. Off Linux the series reads 0.
    private static long ResidentBytes()
    {
        var fields = ReadProcFile("/proc/self/statm").Split(' ');
        return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
            ? pages * Environment.SystemPageSize
            : 0;
    }

    private static long Threads()
    {
        foreach (var line in ReadProcFile("/proc/self/status").Split('\n'))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(8).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return n;
            }
        }

        return 0;
    }

    private static string ReadProcFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
