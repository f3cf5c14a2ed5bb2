using System.Diagnostics.Metrics;
using System.Globalization;
using Prometheus;

namespace RerankSharp.Server;

/// <summary>
/// The Prometheus text of one <see cref="Meter"/>'s instruments: what makes <c>/metrics</c> a reader of the same
/// System.Diagnostics.Metrics instruments an OpenTelemetry <c>MeterProvider</c> reads, so the server has one metrics
/// stack. prometheus-net keeps the series and writes the exposition; this class forwards each measurement to it.
/// </summary>
/// <remarks>
/// <para>Written by hand because neither ready bridge fits. prometheus-net's <c>MeterAdapter</c> publishes counters as
/// gauges (a scraper's <c>rate()</c> then misreads them) and drops series idle for five minutes. OpenTelemetry's
/// Prometheus exporter is a beta package that subscribes by meter name across the process, so two servers in one
/// process (the tests, or an application hosting two) would count each other's requests. This listener takes one
/// <see cref="Meter"/> instance, the one the server's own <see cref="IMeterFactory"/> made.</para>
/// <para>Names follow OpenTelemetry's Prometheus conversion: dots become underscores, unit <c>s</c> adds
/// <c>_seconds</c> and <c>By</c> adds <c>_bytes</c>, and counters end in <c>_total</c>. An OpenTelemetry Prometheus
/// exporter fed the same instruments writes the same names.</para>
/// </remarks>
internal sealed class MeterExposition : IDisposable
{
    private readonly Meter _meter;
    private readonly MetricFactory _factory;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<Instrument, Series> _series = [];
    private readonly object _disposeGate = new();
    private bool _started;
    private bool _disposed;

    public MeterExposition(Meter meter)
    {
        _meter = meter;
        Registry = Metrics.NewCustomRegistry();
        _factory = Metrics.WithCustomRegistry(Registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == _meter && _series.TryGetValue(instrument, out var series))
                listener.EnableMeasurementEvents(instrument, series);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Series)state!).Record(value, tags));
        // Observable instruments are read when scraped, as a prometheus-net gauge set in a callback would be.
        Registry.AddBeforeCollectCallback(() =>
        {
            lock (_disposeGate)
                if (!_disposed) _listener.RecordObservableInstruments();
        });
    }

    /// <summary>The series, for <c>CollectAndExportAsTextAsync</c>.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>
    /// Publishes <paramref name="instrument"/> (of this exposition's meter) with these label names, taken from its
    /// measurements' tags of the same names. Call for every instrument before <see cref="Start"/>.
    /// </summary>
    public void Add(Instrument instrument, params string[] labels)
    {
        if (instrument.Meter != _meter) throw new ArgumentException($"{instrument.Name} belongs to another meter.", nameof(instrument));
        if (_started) throw new InvalidOperationException("Add every instrument before Start.");
        var name = PrometheusName(instrument);
        var help = instrument.Description ?? name;
        var kind = instrument.GetType().GetGenericTypeDefinition();
        _series[instrument] = kind == typeof(Counter<>) ? Series.Increment(_factory.CreateCounter(name, help, labels), labels)
            : kind == typeof(ObservableCounter<>) ? Series.IncrementTo(_factory.CreateCounter(name, help, labels), labels)
            : kind == typeof(ObservableGauge<>) || kind == typeof(ObservableUpDownCounter<>) || kind == typeof(Gauge<>)
                ? Series.Set(_factory.CreateGauge(name, help, labels), labels)
            : kind == typeof(UpDownCounter<>) ? Series.Add(_factory.CreateGauge(name, help, labels), labels)
            : kind == typeof(Histogram<>) ? Series.Observe(_factory.CreateHistogram(name, help,
                new HistogramConfiguration { LabelNames = labels, Buckets = Buckets(instrument) }), labels)
            : throw new NotSupportedException($"{instrument.Name}: {kind.Name} has no Prometheus form here.");
    }

    /// <summary>Starts listening: from now on the added instruments' measurements reach the series.</summary>
    public void Start()
    {
        _started = true;
        _listener.Start();
    }

    /// <summary>
    /// The Prometheus name of <paramref name="instrument"/>: <c>rerank.http.request.duration</c> in seconds is
    /// <c>rerank_http_request_duration_seconds</c>; the counter <c>rerank.http.requests</c> is <c>rerank_http_requests_total</c>.
    /// </summary>
    public static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_').Replace('-', '_');
        var suffix = instrument.Unit switch { "s" => "_seconds", "By" => "_bytes", _ => "" };
        if (suffix.Length > 0 && !name.EndsWith(suffix, StringComparison.Ordinal)) name += suffix;
        var counter = instrument.GetType().GetGenericTypeDefinition() is var kind && (kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>));
        if (counter && !name.EndsWith("_total", StringComparison.Ordinal)) name += "_total";
        return name;
    }

    // The instrument's advice, as OpenTelemetry reads it; prometheus-net's default buckets otherwise.
    private static double[]? Buckets(Instrument instrument) => instrument switch
    {
        Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
        Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
        Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
        _ => null,
    };

    /// <summary>One instrument's Prometheus collector and what a measurement does to it.</summary>
    private sealed class Series(string[] labels, Action<double, string[]> apply)
    {
        public static Series Increment(Counter counter, string[] labels) =>
            new(labels, (v, l) => (l.Length == 0 ? (ICounter)counter : counter.WithLabels(l)).Inc(v));
        public static Series IncrementTo(Counter counter, string[] labels) =>
            new(labels, (v, l) => (l.Length == 0 ? (ICounter)counter : counter.WithLabels(l)).IncTo(v));
        public static Series Set(Gauge gauge, string[] labels) =>
            new(labels, (v, l) => (l.Length == 0 ? (IGauge)gauge : gauge.WithLabels(l)).Set(v));
        public static Series Add(Gauge gauge, string[] labels) =>
            new(labels, (v, l) => (l.Length == 0 ? (IGauge)gauge : gauge.WithLabels(l)).Inc(v));
        public static Series Observe(Histogram histogram, string[] labels) =>
            new(labels, (v, l) => (l.Length == 0 ? (IHistogram)histogram : histogram.WithLabels(l)).Observe(v));

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var values = labels.Length == 0 ? [] : new string[labels.Length];
            for (var i = 0; i < labels.Length; i++)
            {
                values[i] = "";
                foreach (var tag in tags)
                    if (tag.Key == labels[i])
                    {
                        values[i] = Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "";
                        break;
                    }
            }
            apply(value, values);
        }
    }

    public void Dispose()
    {
        lock (_disposeGate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _listener.Dispose();
    }
}
