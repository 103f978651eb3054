using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace EdgeStream.Edge.Metrics;

/// <summary>
/// Renders the instruments of one meter in the Prometheus text format (version 0.0.4): counters
/// summed per label set as they are recorded, gauges observed at scrape time.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private readonly Meter _meter;
    private readonly MeterListener _listener = new();
    private readonly object _gate = new();
    private readonly SortedDictionary<string, Series> _series = new(StringComparer.Ordinal);

    /// <summary>Listens to <paramref name="meter"/>.</summary>
    public PrometheusExporter(Meter meter)
    {
        _meter = meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, _meter))
            {
                lock (_gate)
                {
                    var s = GetSeries(instrument);
                    if (instrument is Counter<long> or ObservableCounter<long>)
                    {
                        s.Type = "counter";
                    }
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>The text format's content type.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Observes the gauges and renders everything.</summary>
    public string Scrape()
    {
        _listener.RecordObservableInstruments();
        var sb = new StringBuilder(4096);
        lock (_gate)
        {
            foreach (var (name, s) in _series)
            {
                if (s.Description is not null)
                {
                    sb.Append("# HELP ").Append(name).Append(' ').Append(s.Description.Replace("\n", " ", StringComparison.Ordinal)).Append('\n');
                }

                sb.Append("# TYPE ").Append(name).Append(' ').Append(s.Type).Append('\n');
                if (s.Values.Count == 0)
                {
                    sb.Append(name).Append(" 0\n");
                }

                foreach (var (labels, value) in s.Values)
                {
                    sb.Append(name).Append(labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        return sb.ToString();
    }

    private Series GetSeries(Instrument instrument)
    {
        if (!_series.TryGetValue(instrument.Name, out var s))
        {
            s = new Series { Description = instrument.Description };
            _series[instrument.Name] = s;
        }

        return s;
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = Labels(tags);
        lock (_gate)
        {
            var s = GetSeries(instrument);
            if (instrument is Counter<long> or Counter<double> or Counter<int>)
            {
                s.Values[labels] = s.Values.GetValueOrDefault(labels) + value;
            }
            else
            {
                s.Values[labels] = value;
            }
        }
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var sorted = tags.ToArray().OrderBy(t => t.Key, StringComparer.Ordinal);
        var sb = new StringBuilder("{");
        foreach (var (k, v) in sorted)
        {
            if (sb.Length > 1)
            {
                sb.Append(',');
            }

            sb.Append(k).Append("=\"")
                .Append((Convert.ToString(v, CultureInfo.InvariantCulture) ?? string.Empty).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal))
                .Append('"');
        }

        return sb.Append('}').ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    private sealed class Series
    {
        public string? Description { get; init; }

        public string Type { get; set; } = "gauge";

        public SortedDictionary<string, double> Values { get; } = new(StringComparer.Ordinal);
    }
}
