using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace EdgeStream.Observability;

/// <summary>
/// Renders System.Diagnostics.Metrics instruments in the Prometheus text exposition format (0.0.4),
/// for the edge daemon's and the cloud's <c>/metrics</c>. Counters are summed per label set as they
/// are recorded (one never recorded shows as 0, so dashboards see it from the start); observable
/// instruments are observed at each render, and a label set they no longer report disappears;
/// histograms get cumulative buckets, <c>_sum</c> and <c>_count</c>.
/// Small on purpose: the product exports a few dozen series, and a scrape must not cost much.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>Content type of <see cref="Render"/>'s output.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<Instrument, Series> _series = [];

    /// <summary>
    /// Listens to exactly these meter instances. Prefer this where several instances share a name
    /// in one process (tests), so their counts never mix.
    /// </summary>
    public PrometheusExporter(params Meter[] meters)
        : this(instrument => meters.Any(m => ReferenceEquals(m, instrument.Meter)))
    {
    }

    /// <summary>Listens to every meter whose name is in <paramref name="meterNames"/>.</summary>
    public PrometheusExporter(params string[] meterNames)
        : this(instrument => meterNames.Contains(instrument.Meter.Name, StringComparer.Ordinal))
    {
    }

    private PrometheusExporter(Func<Instrument, bool> include)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument))
            {
                lock (_gate)
                {
                    _series.TryAdd(instrument, new Series(instrument));
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) =>
        {
            lock (_gate)
            {
                _series.Remove(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>Observes the observable instruments and renders every series, ordered by name.</summary>
    public string Render()
    {
        List<Series> series;
        lock (_gate)
        {
            series = [.. _series.Values];
        }

        foreach (var s in series)
        {
            s.BeginObservation();
        }

        _listener.RecordObservableInstruments();
        var sb = new StringBuilder(4096);
        foreach (var s in series.OrderBy(s => s.Instrument.Name, StringComparer.Ordinal))
        {
            s.WriteTo(sb);
        }

        return sb.ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        Series? s;
        lock (_gate)
        {
            _series.TryGetValue(instrument, out s);
        }

        s?.Add(value, tags);
    }

    private sealed class Series(Instrument instrument)
    {
        private readonly Lock _lock = new();
        private readonly SortedDictionary<string, double> _values = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, Histogram> _histograms = new(StringComparer.Ordinal);

        public Instrument Instrument { get; } = instrument;

        private bool IsHistogram => Instrument is Histogram<double> or Histogram<long> or Histogram<int>;

        private bool IsCounter => Instrument is Counter<long> or Counter<double> or Counter<int>
            or ObservableCounter<long> or ObservableCounter<double> or ObservableCounter<int>;

        public void BeginObservation()
        {
            if (Instrument.IsObservable)
            {
                lock (_lock)
                {
                    _values.Clear();
                }
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
                        _histograms[labels] = h = new Histogram();
                    }

                    h.Count++;
                    h.Sum += value;
                    for (var i = 0; i < Buckets.Length; i++)
                    {
                        if (value <= Buckets[i])
                        {
                            h.Counts[i]++;
                        }
                    }
                }
                else if (IsCounter && !Instrument.IsObservable)
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
            var name = Sanitize(Instrument.Name);
            lock (_lock)
            {
                if (Instrument.Description is { Length: > 0 } help)
                {
                    sb.Append("# HELP ").Append(name).Append(' ').Append(help.Replace('\n', ' ')).Append('\n');
                }

                sb.Append("# TYPE ").Append(name).Append(IsHistogram ? " histogram\n" : IsCounter ? " counter\n" : " gauge\n");
                if (IsHistogram)
                {
                    foreach (var (labels, h) in _histograms)
                    {
                        var prefix = labels.Length > 0 ? labels + "," : string.Empty;
                        for (var i = 0; i < Buckets.Length; i++)
                        {
                            sb.Append(name).Append("_bucket{").Append(prefix).Append("le=\"").Append(Format(Buckets[i])).Append("\"} ")
                              .Append(h.Counts[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
                        }

                        sb.Append(name).Append("_bucket{").Append(prefix).Append("le=\"+Inf\"} ").Append(h.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                        sb.Append(name).Append("_sum").Append(Braces(labels)).Append(' ').Append(Format(h.Sum)).Append('\n');
                        sb.Append(name).Append("_count").Append(Braces(labels)).Append(' ').Append(h.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }

                    return;
                }

                if (_values.Count == 0 && IsCounter && !Instrument.IsObservable)
                {
                    sb.Append(name).Append(" 0\n");
                }

                foreach (var (labels, v) in _values)
                {
                    sb.Append(name).Append(Braces(labels)).Append(' ').Append(Format(v)).Append('\n');
                }
            }
        }

        private static string Braces(string labels) => labels.Length == 0 ? string.Empty : "{" + labels + "}";

        private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.IsEmpty)
            {
                return string.Empty;
            }

            var pairs = tags.ToArray();
            Array.Sort(pairs, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var sb = new StringBuilder();
            foreach (var (k, v) in pairs)
            {
                if (sb.Length > 0)
                {
                    sb.Append(',');
                }

                sb.Append(Sanitize(k)).Append("=\"")
                  .Append((Convert.ToString(v, CultureInfo.InvariantCulture) ?? string.Empty)
                      .Replace("\\", "\\\\", StringComparison.Ordinal)
                      .Replace("\"", "\\\"", StringComparison.Ordinal)
                      .Replace("\n", "\\n", StringComparison.Ordinal))
                  .Append('"');
            }

            return sb.ToString();
        }

        private static string Sanitize(string name)
        {
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '_' or ':'))
                {
                    chars[i] = '_';
                }
            }

            return new string(chars);
        }
    }

    private sealed class Histogram
    {
        public long[] Counts { get; } = new long[Buckets.Length];

        public double Sum { get; set; }

        public long Count { get; set; }
    }
}
