using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Mutt.ServiceDefaults;

/// <summary>
/// Renders the process's <see cref="System.Diagnostics.Metrics"/> instruments (meters whose
/// name starts with "Mutt") in the Prometheus text exposition format (version 0.0.4).
/// prometheus-net is not available here, and the OpenTelemetry Prometheus exporter is not
/// either, so this small listener aggregates counters, up-down counters, histograms and
/// observable instruments itself. Instrument names are the spec's metric names verbatim.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] MillisecondsBuckets = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();
    private readonly Lock _collectLock = new();

    public PrometheusExporter(string meterPrefix = "Mutt")
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith(meterPrefix, StringComparison.Ordinal))
            {
                _families.TryAdd(instrument, new Family(instrument));
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<float>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_families.TryGetValue(instrument, out var family))
        {
            family.Record(value, tags);
        }
    }

    /// <summary>Collects observable instruments and renders every family.</summary>
    public string Render()
    {
        var sb = new StringBuilder(4096);
        lock (_collectLock)
        {
            foreach (var family in _families.Values.Where(f => f.IsObservable))
            {
                family.ResetObservations();
            }
            _listener.RecordObservableInstruments();
            foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                family.Render(sb);
            }
        }
        return sb.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private sealed class Family(Instrument instrument)
    {
        private readonly ConcurrentDictionary<string, Cell> _cells = new();
        private readonly double[]? _buckets = instrument is Histogram<double> or Histogram<long> or Histogram<int>
            ? (instrument.Name.EndsWith("_ms", StringComparison.Ordinal) ? MillisecondsBuckets : SecondsBuckets)
            : null;

        public string Name { get; } = Sanitize(instrument.Name);

        public bool IsObservable { get; } = instrument.IsObservable;

        private string Type => _buckets is not null ? "histogram"
            : instrument is Counter<long> or Counter<double> or Counter<int> or ObservableCounter<long> or ObservableCounter<double> or ObservableCounter<int> ? "counter"
            : "gauge";

        private bool IsCumulativeSum => instrument is Counter<long> or Counter<double> or Counter<int>
            or UpDownCounter<long> or UpDownCounter<double> or UpDownCounter<int>;

        public void ResetObservations() => _cells.Clear();

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = FormatLabels(tags);
            var cell = _cells.GetOrAdd(labels, static (_, b) => new Cell(b), _buckets);
            lock (cell)
            {
                if (_buckets is not null)
                {
                    cell.Sum += value;
                    cell.Count++;
                    for (var i = 0; i < _buckets.Length; i++)
                    {
                        if (value <= _buckets[i])
                        {
                            cell.BucketCounts![i]++;
                            break;
                        }
                    }
                }
                else if (IsCumulativeSum)
                {
                    cell.Value += value;
                }
                else
                {
                    cell.Value = value;
                }
            }
        }

        public void Render(StringBuilder sb)
        {
            if (_cells.IsEmpty && _buckets is null && !IsCumulativeSum)
            {
                return;
            }
            if (!string.IsNullOrEmpty(instrument.Description))
            {
                sb.Append("# HELP ").Append(Name).Append(' ').Append(EscapeHelp(instrument.Description)).Append('\n');
            }
            sb.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
            if (_cells.IsEmpty && IsCumulativeSum)
            {
                // A counter that has not moved yet is still worth exposing as 0 when it has no labels.
                sb.Append(Name).Append(" 0\n");
                return;
            }
            foreach (var (labels, cell) in _cells.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                lock (cell)
                {
                    if (_buckets is null)
                    {
                        AppendSample(sb, Name, labels, null, cell.Value);
                        continue;
                    }
                    long cumulative = 0;
                    for (var i = 0; i < _buckets.Length; i++)
                    {
                        cumulative += cell.BucketCounts![i];
                        AppendSample(sb, Name + "_bucket", labels, "le=\"" + Format(_buckets[i]) + "\"", cumulative);
                    }
                    AppendSample(sb, Name + "_bucket", labels, "le=\"+Inf\"", cell.Count);
                    AppendSample(sb, Name + "_sum", labels, null, cell.Sum);
                    AppendSample(sb, Name + "_count", labels, null, cell.Count);
                }
            }
        }

        private static void AppendSample(StringBuilder sb, string name, string labels, string? extra, double value)
        {
            sb.Append(name);
            if (labels.Length > 0 || extra is not null)
            {
                sb.Append('{').Append(labels);
                if (extra is not null)
                {
                    if (labels.Length > 0)
                    {
                        sb.Append(',');
                    }
                    sb.Append(extra);
                }
                sb.Append('}');
            }
            sb.Append(' ').Append(Format(value)).Append('\n');
        }

        private static string FormatLabels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return "";
            }
            var sorted = tags.ToArray();
            Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var sb = new StringBuilder();
            foreach (var tag in sorted)
            {
                if (sb.Length > 0)
                {
                    sb.Append(',');
                }
                sb.Append(Sanitize(tag.Key)).Append("=\"").Append(EscapeLabel(Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "")).Append('"');
            }
            return sb.ToString();
        }
    }

    private sealed class Cell(double[]? buckets)
    {
        public double Value;
        public double Sum;
        public long Count;
        public readonly long[]? BucketCounts = buckets is null ? null : new long[buckets.Length];
    }

    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
        : value.ToString("G17", CultureInfo.InvariantCulture) is var s && s.Contains('E') ? value.ToString("R", CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    private static string Sanitize(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == ':'))
            {
                chars[i] = '_';
            }
        }
        return new string(chars);
    }

    private static string EscapeLabel(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string EscapeHelp(string value) => value.Replace("\\", "\\\\").Replace("\n", "\\n");
}
