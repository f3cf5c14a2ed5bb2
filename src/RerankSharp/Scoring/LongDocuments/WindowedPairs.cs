using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

/// <summary>
/// Pairs as model input when a call asks for long-document chunking or for the window each score came from: one
/// sequence per document that fits (the very ids the plain path makes, cut by the same rule), several overlapping
/// windows for one that does not, all handed to the queue together so windows of many documents share batches; then
/// the window logits combined back into one per document.
/// </summary>
internal sealed class WindowedPairs
{
    private readonly int[] _first;            // per document, its first sequence; one extra entry at the end
    private readonly TokenWindow[] _windows;  // per sequence, the document tokens it holds
    private readonly CharSpan[]? _chars;      // per sequence, where those tokens are in the document text

    private WindowedPairs(int[][] sequences, int[] first, TokenWindow[] windows, CharSpan[]? chars, bool[] truncated)
    {
        Sequences = sequences;
        _first = first;
        _windows = windows;
        _chars = chars;
        Truncated = truncated;
    }

    /// <summary>Every window of every document, in document order.</summary>
    public int[][] Sequences { get; }

    /// <summary>Per document: whether any of its text, or of the query, was cut.</summary>
    public bool[] Truncated { get; }

    /// <summary>Whether <paramref name="options"/> needs this path rather than one cut pair per document.</summary>
    public static bool Needed(RerankOptions? options) =>
        options is not null && (options.LongDocuments == LongDocumentMode.Chunk || options.ReturnWindows);

    public static WindowedPairs Encode(PairTokenizer tokenizer, int maxLength, TruncationStrategy defaultTruncation,
        int count, Func<int, (string Query, string Document)> pair, RerankOptions options)
    {
        var truncation = options.Truncation ?? defaultTruncation;
        if (truncation is not (TruncationStrategy.LongestFirst or TruncationStrategy.OnlySecond))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Unknown truncation strategy {truncation}; use longest_first or only_second.");
        if (options.LongDocuments is not (LongDocumentMode.Truncate or LongDocumentMode.Chunk))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Unknown long-document mode {options.LongDocuments}; use truncate or chunk.");
        if (options.ChunkStride is < 0)
            throw new RerankException(RerankErrorKind.InvalidInput, $"The chunk stride {options.ChunkStride} must not be negative; it is the number of tokens consecutive windows share.");
        if (options.MaxDocumentTokens is < 1)
            throw new RerankException(RerankErrorKind.InvalidInput, $"The document token cap {options.MaxDocumentTokens} must be at least 1.");
        var overhead = tokenizer.PairOverhead(options.Instruction);
        var budget = maxLength - overhead;
        if (budget < 0)
            throw new RerankException(RerankErrorKind.InvalidInput, $"max_length {maxLength} is smaller than the {overhead} special tokens of a pair; use a max_length of at least {overhead}.");
        if (options.ReturnWindows && tokenizer.EncodeTextWithOffsets("", out _) is null)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"return_windows needs character offsets, which the XLM-RoBERTa tokenizer tracks and this model's {tokenizer.GetType().Name} does not yet; ask without return_windows.");
        var left = options.TruncationDirection == TruncationDirection.Left;
        var chunk = options.LongDocuments == LongDocumentMode.Chunk;

        var sequences = new List<int[]>(count);
        var windows = new List<TokenWindow>(count);
        var chars = options.ReturnWindows ? new List<CharSpan>(count) : null;
        var first = new int[count + 1];
        var truncated = new bool[count];
        for (var i = 0; i < count; i++)
        {
            first[i] = sequences.Count;
            var (query, document) = pair(i);
            if (query is null || document is null)
                throw new RerankException(RerankErrorKind.InvalidInput, $"Pair {i} has a null query or document; pass empty strings instead.");
            var q = tokenizer.EncodeText(query);
            CharSpan[]? offsets = null;
            var d = chars is null ? tokenizer.EncodeText(document) : tokenizer.EncodeTextWithOffsets(document, out offsets)!;
            var untruncated = q.Length + d.Length + overhead;

            // Cohere's max_tokens_per_doc comes first, from the end the cut removes, as in the plain path.
            var capped = Math.Min(d.Length, options.MaxDocumentTokens ?? int.MaxValue);
            var docStart = left ? d.Length - capped : 0;

            if (!chunk || q.Length + capped <= budget)
            {
                // The plain path's ids exactly (the pair cut as a whole), so a document that fits scores as without
                // windows; the kept range is where that cut leaves the document.
                var (_, keepD) = Truncation.Pair(q.Length, capped, budget, truncation, maxLength);
                var encoded = tokenizer.EncodePair(query, document, maxLength, truncation, options.TruncationDirection, options.MaxDocumentTokens, options.Instruction);
                if (encoded.UntruncatedLength > maxLength && !options.Truncate)
                    throw new RerankException(RerankErrorKind.InvalidInput,
                        $"Document {i} makes a pair of {encoded.UntruncatedLength} tokens with the query, over the max length of {maxLength}; shorten it or allow truncation.");
                var kept = left ? new TokenWindow(docStart + capped - keepD, docStart + capped) : new TokenWindow(docStart, docStart + keepD);
                Add(encoded.Ids, kept);
                truncated[i] = encoded.UntruncatedLength > encoded.Ids.Length;
                continue;
            }

            // Chunked: the query keeps at most half of the room (as longest_first would give it), unless only the
            // document may be cut; the rest is the window.
            var queryKept = truncation == TruncationStrategy.OnlySecond ? q.Length : Math.Min(q.Length, budget / 2);
            var window = budget - queryKept;
            if (window < 1)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"The query of pair {i} is {q.Length} tokens; with only_second truncation it leaves no room for the document under max_length {maxLength}; use longest_first truncation or a larger max length.");
            if (queryKept < q.Length && !options.Truncate)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"The query of pair {i} is {q.Length} tokens; chunking keeps at most {queryKept} under max_length {maxLength}; shorten it or allow truncation.");
            var stride = options.ChunkStride ?? window / 4;
            if (stride >= window)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"The chunk stride {stride} must be less than the window of {window} document tokens (max_length {maxLength} − 4 special tokens − {queryKept} query tokens); lower the stride or raise the max length.");
            var queryPart = left ? q.AsSpan(q.Length - queryKept) : q.AsSpan(0, queryKept);
            foreach (var w in DocumentWindows.Plan(capped, window, stride))
            {
                var tokens = new TokenWindow(docStart + w.Start, docStart + w.End);
                Add(tokenizer.BuildPair(queryPart, d.AsSpan(tokens.Start, tokens.Length), options.Instruction), tokens);
            }
            truncated[i] = queryKept < q.Length || capped < d.Length;

            void Add(int[] sequence, TokenWindow tokens)
            {
                sequences.Add(sequence);
                windows.Add(tokens);
                chars?.Add(CharsOf(offsets!, tokens));
            }
        }
        first[count] = sequences.Count;
        return new WindowedPairs([.. sequences], first, [.. windows], chars?.ToArray(), truncated);

        // A window's text runs from its first token's start to its last token's end; min/max rather than first/last
        // because HF's offsets are not monotonic after a deletion at the start of a text.
        static CharSpan CharsOf(CharSpan[] offsets, TokenWindow tokens)
        {
            if (tokens.Length == 0) return default;
            var start = int.MaxValue;
            var end = 0;
            for (var t = tokens.Start; t < tokens.End; t++)
            {
                start = Math.Min(start, offsets[t].Start);
                end = Math.Max(end, offsets[t].End);
            }
            return new CharSpan(start, end);
        }
    }

    /// <summary>
    /// One logit per document from the window logits (<paramref name="logits"/> in <see cref="Sequences"/> order),
    /// the tokens each document cost, and, when windows were asked for, the window that decided each score.
    /// </summary>
    public (float[] Logits, int[] Tokens, DocumentWindow[]? Windows) Combine(float[] logits, WindowAggregation aggregation)
    {
        var documents = _first.Length - 1;
        var combined = new float[documents];
        var tokens = new int[documents];
        var winners = _chars is null ? null : new DocumentWindow[documents];
        for (var i = 0; i < documents; i++)
        {
            var from = _first[i];
            var count = _first[i + 1] - from;
            var (logit, winner) = WindowAggregator.Combine(logits.AsSpan(from, count), aggregation);
            combined[i] = logit;
            for (var s = from; s < from + count; s++) tokens[i] += Sequences[s].Length;
            if (winners is not null)
            {
                var w = _windows[from + winner];
                var c = _chars![from + winner];
                winners[i] = new DocumentWindow(winner, count, w.Start, w.End, c.Start, c.End);
            }
        }
        return (combined, tokens, winners);
    }
}
