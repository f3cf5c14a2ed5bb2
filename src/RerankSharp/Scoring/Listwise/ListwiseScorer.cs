using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

/// <summary>
/// The listwise path of a <see cref="CrossEncoder"/> (jina-reranker-v3): one request becomes one prompt per block
/// (<see cref="JinaRerankerV3Tokenizer.Blocks"/>), every block goes to the queue as one sequence, so blocks batch with
/// each other and with other callers' blocks under the same token budget and cancellation, and the projected marker
/// states that come back are scored as the reference's <c>rerank()</c> scores them.
/// </summary>
/// <remarks>
/// A request's scores depend on its own documents (they share the context), never on other requests: each block is its
/// own row, right-padded with positions 0…len−1, so a row sees in a batch exactly what it sees alone.
/// </remarks>
internal sealed class ListwiseScorer : IDisposable
{
    private readonly JinaRerankerV3Tokenizer _tokenizer;
    private readonly int _width;

    // `run` runs a padded batch and returns the graph's output: float [K, width], every marker's embedding, row by row.
    public ListwiseScorer(JinaRerankerV3Tokenizer tokenizer, Func<PaddedBatch, CancellationToken, float[]> run, int width, int capacity,
        int batchSize, int maxBatchTokens, long maxQueuedTokens, ILogger logger, Action<BatchReport> onBatch)
    {
        _tokenizer = tokenizer;
        _width = width;
        Capacity = capacity;
        Queue = new BatchQueue<float[]>((batch, ct) => SplitRows(run(batch, ct), batch), batchSize, maxBatchTokens, maxQueuedTokens,
            tokenizer.PadId, logger, onBatch);
    }

    /// <summary>The queue of blocks (one sequence each).</summary>
    public BatchQueue<float[]> Queue { get; }

    /// <summary>The reference's <c>model_max_length</c> that fills blocks.</summary>
    public int Capacity { get; }

    /// <summary>Scores <paramref name="documents"/> against <paramref name="query"/> in input order: cosines, bounded, no transform.</summary>
    public async Task<DocumentScores> ScoreAsync(string query, IReadOnlyList<string> documents, RerankOptions? options, CancellationToken cancellationToken)
    {
        CheckOptions(options);
        var clock = Stopwatch.StartNew();
        var blocks = _tokenizer.Blocks(query, documents, Capacity, options?.MaxQueryTokens ?? JinaRerankerV3Tokenizer.DefaultMaxQueryTokens,
            options?.MaxDocumentTokens ?? JinaRerankerV3Tokenizer.DefaultMaxDocumentTokens, options?.Instruction, options?.Truncate ?? true);
        var tokenization = clock.Elapsed;
        if (documents.Count == 0) return new DocumentScores([], [], [], tokenization, TimeSpan.Zero, TimeSpan.Zero);
        var queued = await Queue.EnqueueTimedAsync(blocks.Ids, cancellationToken).ConfigureAwait(false);
        var scores = Merge(blocks, queued.Results, _width);
        return new DocumentScores(scores, TokensPerDocument(blocks, documents.Count), blocks.Truncated, tokenization, queued.QueueTime, queued.InferenceTime);
    }

    // What a listwise request cannot honour is refused, not ignored: windows would score a document without the others.
    private static void CheckOptions(RerankOptions? options)
    {
        if (options is null) return;
        if (options.LongDocuments == LongDocumentMode.Chunk || options.ReturnWindows)
            throw new RerankException(RerankErrorKind.InvalidInput,
                "jina-reranker-v3 is a listwise reranker: it reads the query and all documents in one context, so a document cannot be scored in windows. "
                + "Drop chunk mode and return_windows; long documents are cut to the per-document limit (max_tokens_per_doc, 2048 by default), as the reference does.");
        if (options.TruncationDirection == TruncationDirection.Left)
            throw new RerankException(RerankErrorKind.InvalidInput,
                "jina-reranker-v3 keeps the start of each text, as its reference does; truncation_direction left is not supported for it.");
        if (options.MaxDocumentTokens is < 1 || options.MaxQueryTokens is < 1)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"The token caps must be at least 1 (max_tokens_per_doc {options.MaxDocumentTokens?.ToString() ?? "unset"}, query {options.MaxQueryTokens?.ToString() ?? "unset"}).");
    }

    // NonZero lists a row's markers in position order: its documents' markers, then the query's (the prompt ends with
    // the query). A row's share of the output is therefore its marker count × width, and rows follow one another.
    private float[][] SplitRows(float[] embeddings, PaddedBatch batch)
    {
        var rows = new float[batch.Rows][];
        var offset = 0;
        for (var row = 0; row < batch.Rows; row++)
        {
            var markers = 0;
            foreach (var id in batch.InputIds.AsSpan(row * batch.Tokens, batch.Tokens))
                if (id == _tokenizer.DocumentMarkerId || id == _tokenizer.QueryMarkerId) markers++;
            rows[row] = embeddings.AsSpan(offset, markers * _width).ToArray();
            offset += markers * _width;
        }
        if (offset != embeddings.Length)
            throw new RerankException(RerankErrorKind.Internal, $"The listwise graph returned {embeddings.Length} values for {offset / _width} markers of width {_width}. This is a bug.");
        return rows;
    }

    /// <summary>
    /// <c>rerank()</c>'s scores, in float64: per block the cosines of its documents against its query embedding and the
    /// block's weight max((1 + cosine) / 2); the query embeddings averaged with those weights; each document's cosine
    /// against that average. With one block this is the block's own cosine.
    /// </summary>
    internal static float[] Merge(ListwiseBlocks blocks, IReadOnlyList<float[]> rows, int width)
    {
        var documentEmbeddings = new float[blocks.DocumentTokens.Length][];
        var merged = new double[width];
        var weightSum = 0.0;
        for (var b = 0; b < blocks.Documents.Length; b++)
        {
            var members = blocks.Documents[b];
            var row = rows[b];
            if (row.Length != (members.Length + 1) * width)
                throw new RerankException(RerankErrorKind.Internal, $"Block {b} of {members.Length} documents came back with {row.Length / width} embeddings. This is a bug.");
            var query = row.AsSpan(members.Length * width, width);
            var best = double.NegativeInfinity;
            for (var k = 0; k < members.Length; k++)
            {
                var document = row.AsSpan(k * width, width);
                documentEmbeddings[members[k]] = document.ToArray();
                best = Math.Max(best, (1.0 + Cosine(document, query)) / 2.0);
            }
            for (var i = 0; i < width; i++) merged[i] += best * query[i];
            weightSum += best;
        }
        // np.average raises on weights that sum to zero (every block's best cosine exactly −1); so does this.
        if (!(weightSum > 0))
            throw new RerankException(RerankErrorKind.Backend,
                $"The block weights sum to {weightSum}; the model's embeddings are degenerate (look for NaN or zeros in the checkpoint).");
        for (var i = 0; i < width; i++) merged[i] /= weightSum;
        var scores = new float[documentEmbeddings.Length];
        for (var j = 0; j < scores.Length; j++)
        {
            scores[j] = (float)Cosine(documentEmbeddings[j], merged);
            // A zero embedding has no direction: the reference divides by zero and ranks on NaN; a score must not be NaN.
            if (float.IsNaN(scores[j]))
                throw new RerankException(RerankErrorKind.Backend,
                    $"Document {j}'s embedding gives a NaN cosine (a zero or non-finite vector); the model's weights or the execution provider are broken.");
        }
        return scores;
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<double> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }

    // Usage: every token the model read is billed to a document. Each block's tokens go to its documents, each its own
    // (as the reference counts them) plus an even share of the block's prompt and query, the remainder to the first,
    // so the total is the tokens the model read.
    private static int[] TokensPerDocument(ListwiseBlocks blocks, int count)
    {
        var tokens = new int[count];
        for (var b = 0; b < blocks.Documents.Length; b++)
        {
            var members = blocks.Documents[b];
            var own = members.Sum(i => blocks.DocumentTokens[i]);
            var shared = Math.Max(0, blocks.Ids[b].Length - own);
            for (var k = 0; k < members.Length; k++)
                tokens[members[k]] = blocks.DocumentTokens[members[k]] + shared / members.Length + (k == 0 ? shared % members.Length : 0);
        }
        return tokens;
    }

    public void Dispose() => Queue.Dispose();
}
