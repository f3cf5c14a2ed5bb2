using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace RerankSharp.Scoring;

/// <summary>
/// Middleware that remembers scores, so a document seen again with the same query (a follow-up question, a paged
/// result, a retried pipeline step) is not scored twice. Only the documents it has not seen go to the inner reranker.
/// </summary>
/// <remarks>
/// An entry is keyed by a SHA-256 of (model, scoring settings, query, document): the model as the inner reranker's
/// <see cref="RerankerMetadata"/> names it, and the per-call settings that change a score (raw or sigmoid, truncation,
/// a decoder's instruction),
/// so one cache never mixes scales or models. At most <see cref="Capacity"/> entries are kept; the least recently used
/// goes first. Thread-safe: concurrent calls share the cache (two calls missing the same document both score it).
/// </remarks>
public sealed class ScoreCachingReranker : DelegatingReranker
{
    private readonly string _model;
    private readonly bool _listwise;
    private readonly object _gate = new();
    private readonly Dictionary<UInt128, LinkedListNode<(UInt128 Key, float Score)>> _entries = [];
    private readonly LinkedList<(UInt128 Key, float Score)> _recency = new();   // most recent first

    public ScoreCachingReranker(IReranker innerReranker, int capacity) : base(innerReranker)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The score cache must hold at least one entry.");
        Capacity = capacity;
        // A listwise model scores a document against the other documents of its request: one document's score is not
        // a function of (query, document), so nothing can be cached per document.
        var metadata = innerReranker.GetService<RerankerMetadata>();
        _listwise = metadata?.Listwise == true;
        // Without a model name, the server it calls stands for the model.
        _model = $"{metadata?.ProviderName}|{metadata?.ProviderUri}|{metadata?.ModelId}";
    }

    /// <summary>Most scores kept.</summary>
    public int Capacity { get; }

    /// <summary>Scores held now.</summary>
    public int Count
    {
        get { lock (_gate) return _entries.Count; }
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        RankingInput.Check(query, documents, options);

        // A cached score has no window to report; such a call is answered by the reranker underneath.
        if (options?.ReturnWindows == true || _listwise)
            return await base.RerankAsync(query, documents, options, cancellationToken).ConfigureAwait(false);

        var keys = KeysOf(query, documents, options);
        var scores = new float[documents.Count];
        var missing = new List<int>();
        lock (_gate)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                if (_entries.TryGetValue(keys[i], out var node))
                {
                    scores[i] = node.Value.Score;
                    _recency.Remove(node);
                    _recency.AddFirst(node);
                }
                else missing.Add(i);
            }
        }
        RecordLookups(hits: documents.Count - missing.Count, misses: missing.Count);

        if (missing.Count > 0)
        {
            // All of the missing scores are needed to rank, so the caller's top_n is applied here, not by the inner reranker.
            var scored = await base.RerankAsync(query, missing.Select(i => documents[i]).ToList(), (options ?? new RerankOptions()) with { TopN = null },
                cancellationToken).ConfigureAwait(false);
            if (scored.Count != missing.Count)
                throw new RerankException(RerankErrorKind.Internal,
                    $"The reranker under the score cache returned {scored.Count} results for {missing.Count} documents without a top_n; this is a bug in that reranker.");
            lock (_gate)
            {
                foreach (var result in scored)
                {
                    var i = missing[result.Index];
                    scores[i] = result.Score;
                    Store(keys[i], result.Score);
                }
            }
        }
        return RerankScores.Rank(scores, documents, options?.TopN);
    }

    /// <summary>Forgets every score (e.g. after the model behind a remote endpoint was replaced).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
            _recency.Clear();
        }
    }

    private void Store(UInt128 key, float score)
    {
        if (_entries.TryGetValue(key, out var existing))
        {
            existing.Value = (key, score);
            _recency.Remove(existing);
            _recency.AddFirst(existing);
            return;
        }
        if (_entries.Count >= Capacity)
        {
            var oldest = _recency.Last!;
            _recency.RemoveLast();
            _entries.Remove(oldest.Value.Key);
        }
        _entries[key] = _recency.AddFirst((key, score));
    }

    private static void RecordLookups(int hits, int misses)
    {
        if (!RerankTelemetry.CacheLookups.Enabled) return;
        if (hits > 0) RerankTelemetry.CacheLookups.Add(hits, new KeyValuePair<string, object?>(RerankTelemetry.Attributes.CacheHit, true));
        if (misses > 0) RerankTelemetry.CacheLookups.Add(misses, new KeyValuePair<string, object?>(RerankTelemetry.Attributes.CacheHit, false));
    }

    // SHA-256(SHA-256(model, settings, query) ‖ document), first 128 bits: the prefix is hashed once per call, and every
    // field is length-prefixed so no two different tuples give the same bytes.
    private UInt128[] KeysOf(string query, IReadOnlyList<string> documents, RerankOptions? options)
    {
        var settings = options is null
            ? "default"
            : $"{options.RawScores}|{options.Truncate}|{options.Truncation}|{options.TruncationDirection}|{options.MaxDocumentTokens}"
              + $"|{options.LongDocuments}|{options.ChunkStride}|{options.ChunkAggregation}|{options.MaxQueryTokens}|{(options.Instruction is null ? "no instruction" : "instruction")}";
        Span<byte> prefix = stackalloc byte[SHA256.HashSizeInBytes];
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            // A decoder's instruction is part of its prompt, so it changes the score as the query does.
            foreach (var field in (ReadOnlySpan<string>)[_model, settings, options?.Instruction ?? "", query]) AppendField(hash, field);
            hash.GetHashAndReset(prefix);
        }

        var keys = new UInt128[documents.Count];
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        for (var i = 0; i < keys.Length; i++)
        {
            var document = documents[i] ?? throw new RerankException(RerankErrorKind.InvalidInput, $"Document {i} is null; pass an empty string instead.");
            var length = prefix.Length + Encoding.UTF8.GetMaxByteCount(document.Length);
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                prefix.CopyTo(buffer);
                var written = prefix.Length + Encoding.UTF8.GetBytes(document, buffer.AsSpan(prefix.Length));
                SHA256.HashData(buffer.AsSpan(0, written), digest);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            keys[i] = BinaryPrimitives.ReadUInt128LittleEndian(digest);
        }
        return keys;
    }

    private static void AppendField(IncrementalHash hash, string field)
    {
        var bytes = Encoding.UTF8.GetBytes(field);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}
