using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;
using RerankSharp.Tokenization;

namespace RerankSharp.Server;

/// <summary>What every rerank route asks, once its own JSON shape is read.</summary>
internal sealed record RankQuery(string Query, IReadOnlyList<string> Documents)
{
    public int? TopN { get; init; }
    public bool RawScores { get; init; }
    public bool? Truncate { get; init; }
    public TruncationDirection Direction { get; init; } = TruncationDirection.Right;
    public int? MaxDocumentTokens { get; init; }
    public float? MinScore { get; init; }
    public LongDocumentMode? LongDocuments { get; init; }
    public int? ChunkStride { get; init; }
    public WindowAggregation? ChunkAggregation { get; init; }
    public bool ReturnWindows { get; init; }

    /// <summary>The task instruction of instruction-following rerankers (Qwen3-Reranker), as vLLM, SGLang and llama.cpp take it.</summary>
    public string? Instruction { get; init; }

    /// <summary>The request's <c>model</c> field: which served model scores it; null = the default (the first).</summary>
    public string? Model { get; init; }
}

/// <summary>One document in the answer, best first.</summary>
internal sealed record RankedDocument(int Index, float Score, bool Truncated, DocumentWindow? Window = null);

/// <summary>The answer of every rerank route before it is put in that route's shape.</summary>
internal sealed record Ranking(IReadOnlyList<RankedDocument> Results, DocumentScores Scores, string Model);

/// <summary>
/// Scores and ranks for all routes, HTTP and gRPC: the request's <c>model</c> picks a reranker of the
/// <see cref="RerankModelRegistry"/>, and its pairs go to that model's one batching queue (DESIGN.md §1) with the
/// request's abort token, so a client that disconnects drops its pending pairs; nothing here batches on its own.
/// </summary>
internal sealed class RankingService(RerankModelRegistry registry, RerankServerOptions options, RerankMetrics metrics)
{
    public async Task<Ranking> RankAsync(HttpContext context, RankQuery query)
    {
        var clock = Stopwatch.StartNew();
        var (scores, model) = await ScoreAsync(query, context.RequestAborted);
        WriteTimingHeaders(context.Response, ComputeCharacters(query.Query, query.Documents), scores, clock.Elapsed);

        var minScore = query.MinScore ?? options.MinScore;
        var ranked = RerankScores.Rank(scores.Scores, query.Documents)
            .Where(r => minScore is null || r.Score >= minScore)
            .Take(query.TopN ?? int.MaxValue)
            .Select(r => new RankedDocument(r.Index, r.Score, scores.Truncated[r.Index], scores.Windows?[r.Index]))
            .ToList();
        return new Ranking(ranked, scores, model);
    }

    /// <summary>The model <paramref name="name"/> picks; 404 with the names served when there is none.</summary>
    public ServedModel Resolve(string? name) =>
        registry.Find(name) ?? throw new HttpError(StatusCodes.Status404NotFound, ErrorTypes.ModelNotFound,
            $"The model \"{name}\" is not served here; use one of: {string.Join(", ", registry.Models.Select(m => m.Name))} (GET /v1/models lists them).");

    /// <summary>The scores of <paramref name="query"/>'s documents in input order, unranked, and the name of the model that scored them.</summary>
    public async Task<(DocumentScores Scores, string Model)> ScoreAsync(RankQuery query, CancellationToken cancellationToken)
    {
        var model = Resolve(query.Model);
        var rerankOptions = new RerankOptions
        {
            TopN = query.TopN,
            RawScores = query.RawScores,
            Truncate = query.Truncate ?? options.AutoTruncate,
            TruncationDirection = query.Direction,
            MaxDocumentTokens = query.MaxDocumentTokens,
            // The request's own setting, else the model's (models file), else the server's.
            Instruction = query.Instruction ?? model.Defaults.Instruction,
            LongDocuments = query.LongDocuments ?? model.Defaults.LongDocuments ?? options.LongDocuments,
            ChunkStride = query.ChunkStride ?? model.Defaults.ChunkStride ?? options.ChunkStride,
            ChunkAggregation = query.ChunkAggregation ?? model.Defaults.ChunkAggregation ?? options.ChunkAggregation,
            ReturnWindows = query.ReturnWindows,
        };
        using var lease = await registry.AcquireAsync(model, cancellationToken);
        // The library decides what a ranking call accepts (RankingInput), so the routes, gRPC and the CLI agree.
        var scores = lease.Reranker is IDocumentScorer scorer
            ? await scorer.ScoreDocumentsAsync(query.Query, query.Documents, rerankOptions, cancellationToken)
            : await ScoreThroughRerankAsync(lease.Reranker, query, rerankOptions, cancellationToken);
        metrics.RecordDocuments(model.Name, scores);
        return (scores, model.Name);
    }

    // A reranker that is not the engine itself (a remote one, or the engine inside middleware: a cache, logging) is
    // called through the contract, so the middleware runs; it says nothing of tokens or cuts, which are reported as 0
    // and false, and its time counts as inference.
    private static async Task<DocumentScores> ScoreThroughRerankAsync(IReranker reranker, RankQuery query, RerankOptions options, CancellationToken cancellationToken)
    {
        RankingInput.Check(query.Query, query.Documents, options);
        var clock = Stopwatch.StartNew();
        var results = await reranker.RerankAsync(query.Query, query.Documents, options with { TopN = null }, cancellationToken);
        var scores = new float[query.Documents.Count];
        var windows = options.ReturnWindows ? new DocumentWindow[query.Documents.Count] : null;
        var seen = new bool[query.Documents.Count];
        foreach (var result in results)
        {
            if ((uint)result.Index >= (uint)scores.Length || seen[result.Index])
                throw new RerankException(RerankErrorKind.Backend, $"The reranker answered index {result.Index} for {scores.Length} documents, or twice; its results must name each document once.");
            seen[result.Index] = true;
            scores[result.Index] = result.Score;
            if (windows is not null && result.Window is { } window) windows[result.Index] = window;
        }
        if (seen.Contains(false))
            throw new RerankException(RerankErrorKind.Backend, $"The reranker answered {results.Count} of {scores.Length} documents; without a top_n it must score each one.");
        return new DocumentScores(scores, new int[scores.Length], new bool[scores.Length], TimeSpan.Zero, TimeSpan.Zero, clock.Elapsed)
        {
            Windows = windows,
        };
    }

    /// <summary>Characters the model was given, as TEI counts them: the query once per document, plus the documents.</summary>
    public static long ComputeCharacters(string query, IReadOnlyList<string> documents) =>
        query.Length * (long)documents.Count + documents.Sum(d => (long)d.Length);

    // TEI's headers (router/src/http/server.rs), in whole milliseconds, so dashboards built for TEI keep working.
    // TEI's gRPC server sends the same headers as initial metadata; so does ours.
    public static void WriteTimingHeaders(HttpResponse response, long characters, DocumentScores scores, TimeSpan compute)
    {
        var headers = response.Headers;
        headers["x-compute-time"] = Milliseconds(compute);
        headers["x-compute-characters"] = characters.ToString(CultureInfo.InvariantCulture);
        headers["x-compute-tokens"] = scores.TotalTokens.ToString(CultureInfo.InvariantCulture);
        headers["x-tokenization-time"] = Milliseconds(scores.TokenizationTime);
        headers["x-queue-time"] = Milliseconds(scores.QueueTime);
        headers["x-inference-time"] = Milliseconds(scores.InferenceTime);
        if (response.HttpContext.Items[RerankEndpointFilter.StartedKey] is long started)
            headers["x-total-time"] = Milliseconds(Stopwatch.GetElapsedTime(started));
    }

    private static string Milliseconds(TimeSpan time) => ((long)time.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
