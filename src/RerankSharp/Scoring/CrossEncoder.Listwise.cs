using System.Diagnostics;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

// The listwise models behind the same public contract: Load gives a CrossEncoder whose ScoreDocumentsAsync, RerankAsync
// and PredictAsync score a request's documents together (ListwiseScorer), so the CLI and every server route serve them
// unchanged. Scores are the reference's cosines, already bounded: no activation is applied, raw or not.
public sealed partial class CrossEncoder
{
    /// <summary>
    /// Whether the model is listwise (jina-reranker-v3): it reads a request's documents together, so a document's score
    /// depends on the others in the request (never on other requests), and per-document score caches do not apply.
    /// </summary>
    public bool Listwise => _listwise is not null;

    /// <summary>
    /// Whether <see cref="Load"/> would run the folder as a listwise model, whose scores are cosines with no activation, or
    /// a <see cref="RerankException"/> saying why it cannot run it, as <c>rerank info</c> reports it.
    /// </summary>
    public static bool IsListwise(ModelFolder folder) => RerankerArchitecture.For(folder) is JinaRerankerV3Architecture;

    private static CrossEncoder LoadListwise(ModelFolder folder, JinaRerankerV3Architecture architecture, JinaRerankerV3Tokenizer tokenizer,
        CrossEncoderOptions options, ILogger logger, Stopwatch clock)
    {
        if (options.OnnxFile is not null || folder.IsOnnxOnly) architecture.CheckRunsFromOnnx(folder);
        var capacity = architecture.DefaultMaxLength(folder);
        if (options.MaxLength is { } requested)
        {
            if (requested > capacity)
                logger.LogWarning("Max length {Requested} is more than the model's model_max_length; using {Limit}.", requested, capacity);
            capacity = Math.Min(requested, capacity);
        }
        var settings = new SessionSettings(options.Device, options.Threads ?? CpuTopology.DefaultThreads(),
            GraphOptimizationLevel.ORT_ENABLE_ALL, options.PrepackFor(options.Precision));
        EncoderSession session;
        int width;
        using (var weights = SafetensorsStore.Open(folder))
        {
            weights.Validate(architecture.ExpectedTensors(folder.Config), architecture.TensorLayout(folder.Config));
            width = checked((int)JinaRerankerV3Graph.ProjectorShape(weights, folder.Config).Width);
            var graph = architecture.BuildGraph(folder.Config, weights, folder.WeightsDirectory, options, tokenizer).ToByteArray();
            if (options.SaveOnnxPath is not null) File.WriteAllBytes(options.SaveOnnxPath, graph);
            session = EncoderSession.CreateWithOutput(graph, folder.WeightsDirectory, JinaRerankerV3Graph.Output, settings, logger);
            try
            {
                weights.ThrowIfChanged();
                // A one-document prompt: the graph reads the markers, so the warm-up needs them.
                if (options.WarmUp) session.WarmUp(folder.Config.VocabSize, tokenizer.Blocks("warm-up", ["warm-up"], capacity, 8, 8, null).Ids[0]);
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
        return new CrossEncoder(folder, tokenizer, session, capacity, options, logger, clock.Elapsed, architecture.Name, ScoreActivation.Identity,
            report => new ListwiseScorer(tokenizer, (batch, ct) => session.Run(batch.InputIds, batch.AttentionMask, batch.Rows, batch.Tokens, ct),
                width, capacity, options.BatchSize, options.BatchTokensFor(session.ExecutionProvider), options.MaxQueuedTokens, logger, report));
    }

    // Pairs that share a query (consecutive, in input order) are one listwise request, since the model scores a query's
    // documents together; each request's scores go back to its pairs' places.
    private async Task<float[]> PredictListwiseAsync(IReadOnlyList<(string Query, string Document)> pairs, RerankOptions? options,
        CancellationToken cancellationToken)
    {
        var requests = new List<(int Start, int Count)>();
        for (var i = 0; i < pairs.Count; i++)
        {
            if (pairs[i].Query is null || pairs[i].Document is null)
                throw new RerankException(RerankErrorKind.InvalidInput, $"Pair {i} has a null query or document; pass empty strings instead.");
            if (requests.Count > 0 && pairs[requests[^1].Start].Query == pairs[i].Query) requests[^1] = (requests[^1].Start, requests[^1].Count + 1);
            else requests.Add((i, 1));
        }
        var scored = await Task.WhenAll(requests.Select(r => _listwise!.ScoreAsync(pairs[r.Start].Query,
            Enumerable.Range(r.Start, r.Count).Select(i => pairs[i].Document).ToArray(), options, cancellationToken))).ConfigureAwait(false);
        var scores = new float[pairs.Count];
        for (var r = 0; r < requests.Count; r++) scored[r].Scores.CopyTo(scores, requests[r].Start);
        return scores;
    }
}
