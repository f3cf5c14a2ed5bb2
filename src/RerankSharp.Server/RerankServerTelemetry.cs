namespace RerankSharp.Server;

/// <summary>
/// The name the server's metrics are published under, for an OpenTelemetry SDK (or any
/// <see cref="System.Diagnostics.Metrics.MeterListener"/>) to subscribe to: <c>AddMeter("RerankSharp.Server")</c>. They
/// are the instruments <c>GET /metrics</c> writes, so OpenTelemetry and a Prometheus scraper see the same counts;
/// docs/server.md lists them with their Prometheus names.
/// </summary>
public static class RerankServerTelemetry
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> name of the server's instruments.</summary>
    public const string MeterName = "RerankSharp.Server";
}
