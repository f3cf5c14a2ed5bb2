using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RerankSharp.Server;

/// <summary>How a stopping server's drain went.</summary>
/// <param name="InFlightAtStart">Scoring requests in flight when the drain began.</param>
/// <param name="Duration">From the stop signal to the end of the drain (at least the drain delay).</param>
/// <param name="Cut">Requests still in flight when the shutdown timeout ran out (0 when every one finished).</param>
public sealed record RerankDrainReport(int InFlightAtStart, TimeSpan Duration, int Cut);

/// <summary>
/// The drain of a stopping server (SIGTERM, Ctrl+C, <c>StopApplication</c>). Before Kestrel closes its listener,
/// <c>GET /health</c> answers 503 and new scoring requests get 503 with <c>Connection: close</c>, while the requests
/// in flight finish; the listener stays open for at least <see cref="RerankServerOptions.DrainDelay"/> so that a load
/// balancer polling /health (a Kubernetes readiness probe) takes the instance out before connections are refused.
/// The whole drain is bounded by the host's shutdown timeout (<c>--shutdown-timeout</c>), as Kestrel's own stop is.
/// </summary>
internal sealed class ShutdownDrain(InFlightRequests inFlight, RerankServerOptions options, ILogger<ShutdownDrain> logger) : IHostedLifecycleService
{
    private volatile bool _draining;

    public bool IsDraining => _draining;

    /// <summary>Scoring requests being answered now.</summary>
    public int InFlight => inFlight.Count;

    /// <summary>How the drain went, once it has ended.</summary>
    public RerankDrainReport? Report { get; private set; }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var clock = Stopwatch.StartNew();
        var atStart = inFlight.Count;
        logger.LogInformation("Draining: {InFlight} requests in flight; new requests get 503.", atStart);
        try
        {
            while (inFlight.Count > 0 || clock.Elapsed < options.DrainDelay)
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Drained in {Seconds:F1} s.", clock.Elapsed.TotalSeconds);
            Report = new RerankDrainReport(atStart, clock.Elapsed, 0);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("The shutdown timeout ran out with {InFlight} requests still in flight; they are cut.", inFlight.Count);
            Report = new RerankDrainReport(atStart, clock.Elapsed, inFlight.Count);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
