using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly.Timeout;
using RerankSharp.Scoring;

namespace RerankSharp.Remote;

/// <summary>
/// An <see cref="IReranker"/> that asks a rerank server over HTTP — <c>rerank serve</c>, TEI, Cohere v1/v2, Jina, vLLM,
/// Infinity or llama.cpp — and returns the same results a <c>CrossEncoder</c> would: every document's index and
/// score, best first, equal scores in input order, cut to <c>TopN</c>. Lists longer than the server takes in one
/// request are split, sent concurrently and merged. llama.cpp's logits are turned into sigmoid scores unless raw scores
/// are asked for, so every server gives the same scale.
/// </summary>
/// <remarks>
/// Thread-safe. Retries, timeouts and the circuit breaker belong to the <see cref="HttpClient"/>'s handlers:
/// <c>services.AddRemoteReranker(…)</c> sets them up (retry on 429/503 after <c>Retry-After</c>, never on a 4xx
/// validation error); a client passed in directly is used as it is. Disposing the reranker does not dispose a client
/// passed in.
/// </remarks>
public sealed class RemoteReranker : IReranker
{
    private readonly Func<HttpClient> _client;
    private readonly RerankApiShape _shape;
    private readonly Uri _requestUri;
    private readonly int _maxDocuments;
    private readonly RerankerMetadata _metadata;

    /// <summary>Sends requests through <paramref name="httpClient"/>, which the caller keeps and disposes.</summary>
    public RemoteReranker(HttpClient httpClient, RemoteRerankerOptions options) : this(() => httpClient, options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
    }

    /// <summary>Takes a client from <paramref name="httpClientFactory"/> for every call (its handlers carry the resilience).</summary>
    public RemoteReranker(IHttpClientFactory httpClientFactory, string httpClientName, RemoteRerankerOptions options)
        : this(() => httpClientFactory.CreateClient(httpClientName), options)
    {
        ArgumentNullException.ThrowIfNull(httpClientFactory);
        ArgumentNullException.ThrowIfNull(httpClientName);
    }

    private RemoteReranker(Func<HttpClient> client, RemoteRerankerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        Options = options;
        _shape = RerankApiShape.For(options.Api);
        _requestUri = new Uri(options.Endpoint.AbsoluteUri.TrimEnd('/') + "/" + (options.Path ?? _shape.Path).TrimStart('/'));
        _maxDocuments = options.MaxDocumentsPerRequest ?? _shape.MaxDocumentsPerRequest ?? int.MaxValue;
        _metadata = new RerankerMetadata(_shape.ProviderName, options.Endpoint, options.Model);
    }

    /// <summary>The options this reranker was made with.</summary>
    public RemoteRerankerOptions Options { get; }

    /// <summary>The address requests go to.</summary>
    public Uri RequestUri => _requestUri;

    /// <summary>The server's health route for probes, or null when the API has none (hosted services).</summary>
    internal Uri? HealthUri => _shape.HealthPath is { } path ? new Uri(Options.Endpoint.AbsoluteUri.TrimEnd('/') + path) : null;

    /// <inheritdoc />
    public async Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        RankingInput.Check(query, documents, options);
        options ??= new RerankOptions();
        _shape.Check(options, Options.Model);
        if (documents.Count == 0) return [];

        // Each slice's best top_n holds the overall best top_n, so slices ask for no more than that.
        var slices = Enumerable.Range(0, (int)(((long)documents.Count + _maxDocuments - 1) / _maxDocuments))
            .Select(s => (Offset: s * _maxDocuments, Count: Math.Min(_maxDocuments, documents.Count - s * _maxDocuments)))
            .ToArray();
        var replies = new IReadOnlyList<(int Index, float Score)>[slices.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, slices.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Options.MaxParallelRequests, CancellationToken = cancellationToken },
            async (s, ct) =>
            {
                var (offset, count) = slices[s];
                var slice = documents.Skip(offset).Take(count).ToArray();
                int? topN = options.TopN is { } n ? Math.Min(n, count) : null;
                replies[s] = await SendAsync(query, slice, options, topN, ct).ConfigureAwait(false);
            }).ConfigureAwait(false);

        var scores = new float?[documents.Count];
        for (var s = 0; s < slices.Length; s++)
        {
            foreach (var (index, score) in replies[s])
            {
                var i = slices[s].Offset + index;
                if (scores[i] is not null)
                    throw new RerankException(RerankErrorKind.Backend, $"The {Options.Api} server at {_requestUri} returned document {index} twice in one reply.");
                scores[i] = _shape.RawScores == RawScoresSupport.AlwaysRaw && !options.RawScores ? RerankScores.Sigmoid(score) : score;
            }
            var expected = options.TopN is { } n ? Math.Min(n, slices[s].Count) : slices[s].Count;
            if (replies[s].Count < expected)
                throw new RerankException(RerankErrorKind.Backend,
                    $"The {Options.Api} server at {_requestUri} scored {replies[s].Count} of {expected} documents asked for; it may filter by score (a min_score setting) — turn that off.");
        }
        return Enumerable.Range(0, documents.Count)
            .Where(i => scores[i] is not null)
            .OrderByDescending(i => scores[i]!.Value)   // stable: equal scores keep input order, as CrossEncoder
            .Take(options.TopN ?? documents.Count)
            .Select(i => new RerankResult(i, scores[i]!.Value, documents[i]))
            .ToList();
    }

    private async Task<IReadOnlyList<(int Index, float Score)>> SendAsync(string query, IReadOnlyList<string> documents, RerankOptions options, int? topN,
        CancellationToken cancellationToken)
    {
        var body = _shape.Request(query, documents, options, topN, Options.Model).ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, _requestUri)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (Options.ApiKey is { Length: > 0 } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        HttpResponseMessage response;
        try
        {
            response = await _client().SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is TimeoutRejectedException or TaskCanceledException)
        {
            throw new RerankException(RerankErrorKind.Backend,
                $"The {Options.Api} server at {_requestUri} did not answer in time; send fewer or shorter documents, or allow a longer timeout (\"Reranker:Timeout\").", e);
        }
        catch (Exception e) when (e is Polly.CircuitBreaker.BrokenCircuitException or Polly.RateLimiting.RateLimiterRejectedException)
        {
            throw new RerankException(RerankErrorKind.Overloaded,
                $"Requests to the {Options.Api} server at {_requestUri} are held back after repeated failures ({e.Message}); retry later.", e);
        }
        catch (HttpRequestException e)
        {
            throw new RerankException(RerankErrorKind.Backend,
                $"Cannot reach the {Options.Api} server at {_requestUri}: {e.Message}. Check RemoteRerankerOptions.Endpoint and that the server is running.", e);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw RemoteError.From(response.StatusCode, text, Options.Api, _requestUri);
            JsonNode? reply;
            try
            {
                reply = JsonNode.Parse(text);
            }
            catch (JsonException e)
            {
                throw new RerankException(RerankErrorKind.Backend, $"The {Options.Api} server at {_requestUri} answered {(int)response.StatusCode} with a body that is not JSON: {RemoteError.MessageOf(text)}", e);
            }
            return _shape.Results(reply, documents.Count);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(RerankerMetadata)) return _metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Nothing to release: the HTTP client belongs to the caller or to the client factory.</summary>
    public void Dispose()
    {
    }
}
