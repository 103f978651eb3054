using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace EdgeStream.Observability;

/// <summary>
/// Collects the instruments of the named meters with a <see cref="MeterListener"/> and renders them in
/// the Prometheus text exposition format (version 0.0.4). Counters become <c>_total</c> series as
/// named, up-down counters and observable gauges become gauges, histograms get cumulative buckets.
/// Small on purpose: the product exports a few dozen series, and a scrape must not allocate much.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] DefaultBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly HashSet<string> _meters;

    /// <summary>Starts listening to instruments of meters whose names are in <paramref name="meterNames"/>.</summary>
    public PrometheusExporter(params string[] meterNames)
    {
        _meters = new HashSet<string>(meterNames, StringComparer.Ordinal);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Contains(instrument.Meter.Name))
            {
                _series.TryAdd(instrument, new Series(instrument));
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>Content type of <see cref="Render"/>'s output.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Renders every known series.</summary>
    public string Render()
    {
        _listener.RecordObservableInstruments();
        var sb = new StringBuilder(4096);
        foreach (var s in _series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            s.Write(sb);
        }

        return sb.ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_series.TryGetValue(instrument, out var s))
        {
            s.Record(value, tags);
        }
    }

    private sealed class Series
    {
        private readonly Instrument _instrument;
        private readonly ConcurrentDictionary<string, Cell> _cells = new(StringComparer.Ordinal);
        private readonly Kind _kind;

        public Series(Instrument instrument)
        {
            _instrument = instrument;
            Name = Sanitize(instrument.Name);
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            _kind = generic == typeof(Counter<>) || generic == typeof(ObservableCounter<>) ? Kind.Counter
                : generic == typeof(Histogram<>) ? Kind.Histogram
                : Kind.Gauge;
        }

        public string Name { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            var cell = _cells.GetOrAdd(labels, _ => new Cell(_kind == Kind.Histogram ? DefaultBuckets.Length : 0));
            lock (cell)
            {
                switch (_kind)
                {
                    case Kind.Counter when _instrument.IsObservable:
                    case Kind.Gauge when _instrument.IsObservable:
                        cell.Value = value;
                        break;
                    case Kind.Counter:
                    case Kind.Gauge:
                        cell.Value += value;
                        break;
                    case Kind.Histogram:
                        cell.Value += value;
                        cell.Count++;
                        for (var i = 0; i < DefaultBuckets.Length; i++)
                        {
                            if (value <= DefaultBuckets[i])
                            {
                                cell.Buckets[i]++;
                            }
                        }

                        break;
                }
            }
        }

        public void Write(StringBuilder sb)
        {
            if (_cells.IsEmpty)
            {
                return;
            }

            if (!string.IsNullOrEmpty(_instrument.Description))
            {
                sb.Append("# HELP ").Append(Name).Append(' ').Append(_instrument.Description.Replace('\n', ' ')).Append('\n');
            }

            sb.Append("# TYPE ").Append(Name).Append(' ')
              .Append(_kind switch { Kind.Counter => "counter", Kind.Histogram => "histogram", _ => "gauge" }).Append('\n');
            foreach (var (labels, cell) in _cells.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                lock (cell)
                {
                    if (_kind == Kind.Histogram)
                    {
                        for (var i = 0; i < DefaultBuckets.Length; i++)
                        {
                            sb.Append(Name).Append("_bucket{").Append(labels).Append(labels.Length > 0 ? "," : string.Empty)
                              .Append("le=\"").Append(DefaultBuckets[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                              .Append(cell.Buckets[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
                        }

                        sb.Append(Name).Append("_bucket{").Append(labels).Append(labels.Length > 0 ? "," : string.Empty)
                          .Append("le=\"+Inf\"} ").Append(cell.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                        Line(sb, Name + "_sum", labels, cell.Value);
                        Line(sb, Name + "_count", labels, cell.Count);
                    }
                    else
                    {
                        Line(sb, Name, labels, cell.Value);
                    }
                }
            }
        }

        private static void Line(StringBuilder sb, string name, string labels, double value)
        {
            sb.Append(name);
            if (labels.Length > 0)
            {
                sb.Append('{').Append(labels).Append('}');
            }

            sb.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.IsEmpty)
            {
                return string.Empty;
            }

            var pairs = new List<KeyValuePair<string, object?>>(tags.ToArray());
            pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
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

        private enum Kind
        {
            Counter,
            Gauge,
            Histogram,
        }
    }

    private sealed class Cell(int buckets)
    {
        public double Value { get; set; }

        public long Count { get; set; }

        public long[] Buckets { get; } = new long[buckets];
    }
}
