using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace EdgeStream.Ingest;

/// <summary>
/// Renders the instruments of the given meters in the Prometheus text exposition format (0.0.4), so
/// the host maps <c>/metrics</c> to <see cref="Render"/> without an exporter package. Counters are
/// summed per label set; histograms use fixed latency buckets; observable gauges are read at render.
/// </summary>
public sealed class PrometheusTextExporter : IDisposable
{
    private static readonly double[] Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private readonly MeterListener _listener = new();
    private readonly HashSet<Meter> _meters;
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly Lock _renderLock = new();

    /// <summary>Starts listening to <paramref name="meters"/>.</summary>
    public PrometheusTextExporter(params Meter[] meters)
    {
        _meters = [.. meters];
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Contains(instrument.Meter))
            {
                _series[instrument] = new Series(instrument);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>The current values as Prometheus text.</summary>
    public string Render()
    {
        lock (_renderLock)
        {
            foreach (var s in _series.Values)
            {
                if (s.IsObservable)
                {
                    s.ClearGauges();
                }
            }

            _listener.RecordObservableInstruments();
            var sb = new StringBuilder();
            foreach (var s in _series.Values.OrderBy(s => s.Instrument.Name, StringComparer.Ordinal))
            {
                s.WriteTo(sb);
            }

            return sb.ToString();
        }
    }

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_series.TryGetValue(instrument, out var s))
        {
            s.Add(value, tags);
        }
    }

    private sealed class Series(Instrument instrument)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long[] Counts, double Sum, long Count)> _histograms = new(StringComparer.Ordinal);

        public Instrument Instrument { get; } = instrument;

        public bool IsObservable => Instrument is ObservableInstrument<double> or ObservableInstrument<long> or ObservableInstrument<int>;

        private bool IsHistogram => Instrument is Histogram<double> or Histogram<long> or Histogram<int>;

        private bool IsCounter => Instrument is Counter<long> or Counter<double> or Counter<int> or ObservableCounter<long> or ObservableCounter<double>;

        public void ClearGauges()
        {
            lock (_lock)
            {
                _values.Clear();
            }
        }

        public void Add(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            lock (_lock)
            {
                if (IsHistogram)
                {
                    if (!_histograms.TryGetValue(labels, out var h))
                    {
                        h = (new long[Buckets.Length], 0, 0);
                    }

                    for (var i = 0; i < Buckets.Length; i++)
                    {
                        if (value <= Buckets[i])
                        {
                            h.Counts[i]++;
                        }
                    }

                    _histograms[labels] = (h.Counts, h.Sum + value, h.Count + 1);
                }
                else if (IsCounter && !IsObservable)
                {
                    _values[labels] = _values.GetValueOrDefault(labels) + value;
                }
                else
                {
                    _values[labels] = value;
                }
            }
        }

        public void WriteTo(StringBuilder sb)
        {
            lock (_lock)
            {
                var name = Instrument.Name;
                if (Instrument.Description is { Length: > 0 } help)
                {
                    sb.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\n", " ", StringComparison.Ordinal)).Append('\n');
                }

                sb.Append("# TYPE ").Append(name).Append(IsHistogram ? " histogram\n" : IsCounter ? " counter\n" : " gauge\n");
                if (IsHistogram)
                {
                    foreach (var (labels, h) in _histograms)
                    {
                        for (var i = 0; i < Buckets.Length; i++)
                        {
                            sb.Append(name).Append("_bucket{").Append(labels).Append(labels.Length > 0 ? "," : string.Empty)
                                .Append("le=\"").Append(Format(Buckets[i])).Append("\"} ").Append(h.Counts[i]).Append('\n');
                        }

                        sb.Append(name).Append("_bucket{").Append(labels).Append(labels.Length > 0 ? "," : string.Empty).Append("le=\"+Inf\"} ").Append(h.Count).Append('\n');
                        sb.Append(name).Append("_sum").Append(Braces(labels)).Append(' ').Append(Format(h.Sum)).Append('\n');
                        sb.Append(name).Append("_count").Append(Braces(labels)).Append(' ').Append(h.Count).Append('\n');
                    }
                }
                else
                {
                    if (_values.Count == 0 && IsCounter)
                    {
                        sb.Append(name).Append(" 0\n");
                    }

                    foreach (var (labels, v) in _values)
                    {
                        sb.Append(name).Append(Braces(labels)).Append(' ').Append(Format(v)).Append('\n');
                    }
                }
            }
        }

        private static string Braces(string labels) => labels.Length == 0 ? string.Empty : "{" + labels + "}";

        private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return string.Empty;
            }

            var sorted = tags.ToArray();
            Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var sb = new StringBuilder();
            foreach (var (key, value) in sorted)
            {
                if (sb.Length > 0)
                {
                    sb.Append(',');
                }

                sb.Append(key).Append("=\"")
                    .Append((value?.ToString() ?? string.Empty).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal))
                    .Append('"');
            }

            return sb.ToString();
        }
    }
}
