using RerankSharp.Remote;

namespace RerankSharp.Hosting;

/// <summary>
/// A remote reranker's health: a GET of the server's health route (TEI, RerankSharp, vLLM, Infinity and llama.cpp have
/// one) through the same client; hosted APIs (Cohere, Jina) have none and are reported ready without a probe.
/// </summary>
internal sealed class RemoteReadiness(RemoteReranker reranker, IHttpClientFactory clients, string clientName) : IRerankerReadiness
{
    public async Task<(RerankerState State, string Description, Exception? Error)> CheckAsync(CancellationToken cancellationToken)
    {
        if (reranker.HealthUri is not { } uri)
            return (RerankerState.Ready, $"{reranker.Options.Api} at {reranker.Options.Endpoint} has no health route; not probed.", null);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (reranker.Options.ApiKey is { Length: > 0 } key) request.Headers.Authorization = new("Bearer", key);
            using var response = await clients.CreateClient(clientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? (RerankerState.Ready, $"{reranker.Options.Api} at {uri} answered {(int)response.StatusCode}.", null)
                : (RerankerState.Failed, $"{reranker.Options.Api} at {uri} answered {(int)response.StatusCode} {response.StatusCode}.", null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return (RerankerState.Failed, $"{reranker.Options.Api} at {uri} cannot be reached: {e.Message}", e);
        }
    }
}
