using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using RerankSharp.Server;

namespace RerankSharp.Cli;

/// <summary>
/// <c>rerank serve --otlp-endpoint</c>: the server's instruments (<see cref="RerankServerTelemetry.MeterName"/>, the
/// ones <c>/metrics</c> writes) exported by the OpenTelemetry SDK's OTLP exporter, so a collector and a Prometheus
/// scraper read one set of counts.
/// </summary>
internal static class OtlpMetrics
{
    /// <summary>The collector's address from <c>--otlp-endpoint</c> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>: an absolute http(s) URL.</summary>
    public static Uri Endpoint(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri
            : throw new RerankException(RerankErrorKind.InvalidInput,
                $"--otlp-endpoint '{value}' is not an http(s) URL; give the collector's address, e.g. http://127.0.0.1:4317 (OTLP over gRPC) or http://127.0.0.1:4318 with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf.");

    public static void AddTo(IServiceCollection services, Uri collector) =>
        services.AddOpenTelemetry()
            // OTEL_SERVICE_NAME, when set, still wins: the SDK reads it over this default.
            .ConfigureResource(resource => resource.AddService("rerank"))
            .WithMetrics(metrics => metrics
                .AddMeter(RerankServerTelemetry.MeterName)
                .AddOtlpExporter((exporter, _) =>
                    // As OTEL_EXPORTER_OTLP_ENDPOINT means it: the base address, to which http/protobuf adds its
                    // signal's path (gRPC takes the address as it is).
                    exporter.Endpoint = exporter.Protocol == OtlpExportProtocol.HttpProtobuf
                        ? new Uri(collector.ToString().TrimEnd('/') + "/v1/metrics")
                        : collector));
}
