using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using RerankSharp.Scoring;
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
}

/// <summary>One document in the answer, best first.</summary>
internal sealed record RankedDocument(int Index, float Score, bool Truncated, DocumentWindow? Window = null);

/// <summary>The answer of every rerank route before it is put in that route's shape.</summary>
internal sealed record Ranking(IReadOnlyList<RankedDocument> Results, DocumentScores Scores);

/// <summary>
/// Scores and ranks for all routes, HTTP and gRPC: the pairs go to the encoder's one batching queue (DESIGN.md §1)
/// with the request's abort token, so a client that disconnects drops its pending pairs; nothing here batches on its own.
/// </summary>
internal sealed class RankingService(CrossEncoder encoder, RerankServerOptions options, RerankMetrics metrics)
{
    public async Task<Ranking> RankAsync(HttpContext context, RankQuery query)
    {
        var clock = Stopwatch.StartNew();
        var scores = await ScoreAsync(query, context.RequestAborted);
        WriteTimingHeaders(context.Response, ComputeCharacters(query.Query, query.Documents), scores, clock.Elapsed);

        var minScore = query.MinScore ?? options.MinScore;
        var ranked = CrossEncoder.RankScores(scores.Scores, query.Documents)
            .Where(r => minScore is null || r.Score >= minScore)
            .Take(query.TopN ?? int.MaxValue)
            .Select(r => new RankedDocument(r.Index, r.Score, scores.Truncated[r.Index], scores.Windows?[r.Index]))
            .ToList();
        return new Ranking(ranked, scores);
    }

    /// <summary>The scores of <paramref name="query"/>'s documents in input order, unranked.</summary>
    public async Task<DocumentScores> ScoreAsync(RankQuery query, CancellationToken cancellationToken)
    {
        // The library decides what a ranking call accepts (RankingInput), so the routes, gRPC and the CLI agree.
        var scores = await encoder.ScoreDocumentsAsync(query.Query, query.Documents, new RerankOptions
        {
            TopN = query.TopN,
            RawScores = query.RawScores,
            Truncate = query.Truncate ?? options.AutoTruncate,
            TruncationDirection = query.Direction,
            MaxDocumentTokens = query.MaxDocumentTokens,
            Instruction = query.Instruction,
            LongDocuments = query.LongDocuments ?? options.LongDocuments,
            ChunkStride = query.ChunkStride ?? options.ChunkStride,
            ChunkAggregation = query.ChunkAggregation ?? options.ChunkAggregation,
            ReturnWindows = query.ReturnWindows,
        }, cancellationToken);
        metrics.RecordDocuments(scores);
        return scores;
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
