using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Mutt.ServiceDefaults;

/// <summary>
/// Renders the process's <see cref="System.Diagnostics.Metrics"/> instruments in the Prometheus
/// text exposition format (version 0.0.4): the application's own meters (<see cref="PrometheusExporterOptions"/>;
/// MUTT's are "Mutt.*"), whose instrument names are already Prometheus names (spec 004's) and are exposed
/// verbatim, and the platform's runtime, ASP.NET Core hosting and Kestrel meters, named as
/// OpenTelemetry's Prometheus exporter names them
/// (<c>http.server.request.duration</c> → <c>http_server_request_duration_seconds</c>).
/// <para>
/// Why our own exporter and not OpenTelemetry.Exporter.Prometheus.AspNetCore (evaluated at
/// 1.20.1-beta.1, the only version served; it is also a beta against the 1.21 SDK): by default
/// it appends unit suffixes (<c>mutt_db_write_latency_ms</c> becomes
/// <c>mutt_db_write_latency_ms_milliseconds</c>), adds an <c>otel_scope_name</c> label to every
/// sample and a <c>target_info</c> metric. Its <c>UnderscoreEscapingWithoutSuffixes</c> strategy
/// with scope and target info off does keep the spec names, and views give the buckets, but
/// the strategy is exporter-wide (the runtime and ASP.NET Core metrics then lose the unit
/// suffixes the standard .NET dashboards query), a counter that never moved is not exposed at
/// all (we expose 0, so <c>increase()</c> sees the first failure), and unlabelled samples are
/// written <c>name{} value</c>, which operators' greps and our tests do not expect.
/// </para>
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The platform's meters exposed beside MUTT's, with OpenTelemetry's Prometheus naming.</summary>
    public static readonly IReadOnlyList<string> PlatformMeters = ["System.Runtime", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] MillisecondsBuckets = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();
    private readonly Lock _collectLock = new();

    /// <param name="meterFactory">
    /// This host's factory: ASP.NET Core's meters are created per host through it, and several
    /// hosts in one process (tests) must each expose only their own.
    /// </param>
    /// <param name="meterFilter">Which meters to expose; default the application's (<paramref name="applicationMeterPrefixes"/>) and <see cref="PlatformMeters"/>.</param>
    /// <param name="applicationMeterPrefixes">Name prefixes of the application's meters (e.g. "Mutt.").</param>
    public PrometheusExporter(IMeterFactory? meterFactory = null, Func<Meter, bool>? meterFilter = null, IEnumerable<string>? applicationMeterPrefixes = null)
    {
        string[] prefixes = [.. applicationMeterPrefixes ?? []];
        meterFilter ??= meter => IsPlatform(meter) || prefixes.Any(p => meter.Name.StartsWith(p, StringComparison.Ordinal));
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            var meter = instrument.Meter;
            if (meterFilter(meter) && (meter.Scope is null || meterFactory is null || ReferenceEquals(meter.Scope, meterFactory)))
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

    public static bool IsPlatform(Meter meter) => PlatformMeters.Contains(meter.Name);

    /// <summary>An exposed meter that is not the platform's is the application's: its instrument names are Prometheus names already.</summary>
    private static bool IsApplication(Instrument instrument) => !IsPlatform(instrument.Meter);

    private static bool IsMonotonic(Instrument instrument) =>
        instrument is Counter<long> or Counter<double> or Counter<int> or ObservableCounter<long> or ObservableCounter<double> or ObservableCounter<int>;

    /// <summary>
    /// The exposed name: an application instrument's name (MUTT's: spec 004's) verbatim. A platform instrument
    /// gets OpenTelemetry's Prometheus translation: illegal characters to '_', the unit as a
    /// suffix (s → _seconds, By → _bytes, {annotations} dropped), and _total on counters.
    /// </summary>
    public static string MetricName(Instrument instrument)
    {
        if (IsApplication(instrument))
        {
            return Sanitize(instrument.Name);
        }
        var name = Sanitize(instrument.Name);
        var unit = UnitSuffix(instrument.Unit, gauge: !IsMonotonic(instrument) && Buckets(instrument) is null);
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }
        if (IsMonotonic(instrument) && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }
        return name;
    }

    private static string UnitSuffix(string? unit, bool gauge)
    {
        if (string.IsNullOrEmpty(unit) || unit.StartsWith('{'))
        {
            return "";
        }
        if (unit == "1")
        {
            return gauge ? "ratio" : "";
        }
        var slash = unit.IndexOf('/');
        if (slash > 0)
        {
            var per = UnitWord(unit[(slash + 1)..], singular: true);
            var of = unit[..slash].StartsWith('{') ? "" : UnitWord(unit[..slash], singular: false);
            return of.Length == 0 ? "per_" + per : of + "_per_" + per;
        }
        return UnitWord(unit, singular: false);
    }

    private static string UnitWord(string unit, bool singular)
    {
        var word = unit switch
        {
            "d" => "days",
            "h" => "hours",
            "min" => "minutes",
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "ns" => "nanoseconds",
            "By" => "bytes",
            "KiBy" => "kibibytes",
            "MiBy" => "mebibytes",
            "KBy" => "kilobytes",
            "MBy" => "megabytes",
            "%" => "percent",
            _ => Sanitize(unit),
        };
        return singular && word.EndsWith('s') ? word[..^1] : word;
    }

    private static double[]? Buckets(Instrument instrument) => instrument switch
    {
        // The platform's instruments advise their boundaries (http.server.request.duration: 5 ms … 10 s).
        Histogram<double> { Advice.HistogramBucketBoundaries: { Count: > 0 } advised } when !IsApplication(instrument) => [.. advised],
        Histogram<double> or Histogram<long> or Histogram<int> =>
            instrument.Name.EndsWith("_ms", StringComparison.Ordinal) || instrument.Unit == "ms" ? MillisecondsBuckets : SecondsBuckets,
        _ => null,
    };

    private sealed class Family(Instrument instrument)
    {
        private readonly ConcurrentDictionary<string, Cell> _cells = new();
        private readonly double[]? _buckets = Buckets(instrument);

        public string Name { get; } = MetricName(instrument);

        public bool IsObservable { get; } = instrument.IsObservable;

        private string Type => _buckets is not null ? "histogram" : IsMonotonic(instrument) ? "counter" : "gauge";

        private bool IsCumulativeSum => instrument is Counter<long> or Counter<double> or Counter<int>
            or UpDownCounter<long> or UpDownCounter<double> or UpDownCounter<int>;

        public void ResetObservations() => _cells.Clear();

        /// <summary>
        /// Cells by the tags exactly as recorded, looked up without allocating: a request metric is
        /// recorded per HTTP request, and formatting its label text each time cost ~2 KB and ~1 µs.
        /// </summary>
        private readonly ConcurrentDictionary<TagSet, Cell> _byTags = new(TagSetComparer.Instance);

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            Cell cell;
            if (IsObservable)
            {
                // Observed only while rendering, and their cells are reset each time: no cache.
                cell = _cells.GetOrAdd(FormatLabels(tags), static (_, b) => new Cell(b), _buckets);
            }
            else if (!_byTags.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>().TryGetValue(tags, out cell!))
            {
                cell = _cells.GetOrAdd(FormatLabels(tags), static (_, b) => new Cell(b), _buckets);
                _byTags.TryAdd(new TagSet(tags.ToArray()), cell);
            }
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

    private sealed class TagSet(KeyValuePair<string, object?>[] tags)
    {
        public KeyValuePair<string, object?>[] Tags { get; } = tags;
        public int Hash { get; } = TagSetComparer.HashOf(tags);
    }

    private sealed class TagSetComparer : IEqualityComparer<TagSet>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, TagSet>
    {
        public static readonly TagSetComparer Instance = new();

        public static int HashOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var hash = new HashCode();
            foreach (var tag in tags)
            {
                hash.Add(tag.Key);
                hash.Add(tag.Value);
            }
            return hash.ToHashCode();
        }

        public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, TagSet other)
        {
            var tags = other.Tags;
            if (alternate.Length != tags.Length)
            {
                return false;
            }
            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(alternate[i].Key, tags[i].Key, StringComparison.Ordinal) || !Equals(alternate[i].Value, tags[i].Value))
                {
                    return false;
                }
            }
            return true;
        }

        public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => HashOf(alternate);

        public TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => new(alternate.ToArray());

        public bool Equals(TagSet? x, TagSet? y) => ReferenceEquals(x, y) || (x is not null && y is not null && Equals(new ReadOnlySpan<KeyValuePair<string, object?>>(x.Tags), y));

        public int GetHashCode(TagSet obj) => obj.Hash;
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

/// <summary>Which meters /metrics exposes besides the platform's.</summary>
public sealed class PrometheusExporterOptions
{
    /// <summary>Name prefixes of the application's meters, whose instrument names are exposed verbatim.</summary>
    public List<string> ApplicationMeterPrefixes { get; } = [];
}
