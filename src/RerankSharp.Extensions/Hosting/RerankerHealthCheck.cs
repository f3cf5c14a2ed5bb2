using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RerankSharp.Hosting;

/// <summary>
/// Reports the registered reranker: Healthy when it answers, the registration's failure status (Unhealthy unless set)
/// while the model loads or after it failed to load or the server cannot be reached. <c>data["state"]</c> says which.
/// Add it with <c>services.AddHealthChecks().AddRerankerCheck()</c>.
/// </summary>
public sealed class RerankerHealthCheck : IHealthCheck
{
    private readonly IRerankerReadiness? _readiness;

    internal RerankerHealthCheck(IRerankerReadiness? readiness) => _readiness = readiness;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_readiness is null)
            return new HealthCheckResult(context.Registration.FailureStatus, "No reranker is registered; call services.AddReranker(…) or AddCrossEncoder(…).");
        var (state, description, error) = await _readiness.CheckAsync(cancellationToken).ConfigureAwait(false);
        var data = new Dictionary<string, object> { ["state"] = state.ToString().ToLowerInvariant() };
        return state == RerankerState.Ready
            ? HealthCheckResult.Healthy(description, data)
            : new HealthCheckResult(context.Registration.FailureStatus, description, error, data);
    }
}
