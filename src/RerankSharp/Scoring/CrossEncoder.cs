using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Tokenization;
using Google.Protobuf;

namespace RerankSharp.Scoring;

/// <summary>
/// A cross-encoder reranker (bge-reranker-v2-m3 and other XLM-RoBERTa sequence classifiers): reads
/// a query and a document together and returns one relevance score per pair.
/// </summary>
/// <remarks>
/// Load once and share: every method is thread-safe, and pairs from concurrent callers are batched
/// together by one worker that owns the ONNX Runtime session. Dispose to release the session.
/// </remarks>
public sealed partial class CrossEncoder : IReranker, IDocumentScorer, IBatchingStatistics
{
    private readonly EncoderSession _session;
    private readonly BatchQueue<float>? _queue;          // pointwise models: one logit per pair
    private readonly ListwiseScorer? _listwise;          // listwise models (jina-reranker-v3): blocks of a request (CrossEncoder.Listwise.cs)
    private readonly TruncationStrategy _truncation;
    private readonly string? _folderInstruction;
    private readonly SharedPrefixBatches? _prefixes;

    private CrossEncoder(ModelFolder folder, PairTokenizer tokenizer, EncoderSession session, int maxLength,
        CrossEncoderOptions options, ILogger logger, TimeSpan loadTime, string architecture, ScoreActivation activation,
        Func<Action<BatchReport>, ListwiseScorer>? listwise = null)
    {
        Folder = folder;
        Architecture = architecture;
        Activation = activation;
        Tokenizer = tokenizer;
        _session = session;
        MaxLength = maxLength;
        LoadTime = loadTime;
        _truncation = options.Truncation;
        // A decoder reranker saved by sentence-transformers names its instruction as the default prompt; a call's own
        // instruction wins over it.
        _folderInstruction = tokenizer is Qwen3RerankerTokenizer or DecoderPromptTokenizer ? folder.SentenceTransformers.DefaultPrompt : null;
        BatchSize = options.BatchSize;
        MaxBatchTokens = options.BatchTokensFor(session.ExecutionProvider);
        void Report(BatchReport report) => BatchCompleted?.Invoke(this, report);
        if (listwise is not null)
        {
            _listwise = listwise(Report);
            return;
        }
        // A decoder graph built with a prefix cache (CrossEncoderOptions.ReusePromptPrefix) runs each shared prompt head once.
        _prefixes = session.TakesPrefixCache ? new SharedPrefixBatches(session, tokenizer.PadId) : null;
        _queue = new BatchQueue<float>(options.BatchRunner ?? (_prefixes is { } prefixes
                ? prefixes.Run
                : (batch, ct) => _session.Run(batch.InputIds, batch.AttentionMask, batch.Rows, batch.Tokens, ct)),
            options.BatchSize, MaxBatchTokens, options.MaxQueuedTokens, tokenizer.PadId, logger, Report);
    }

    private BatchQueue<float> Pairs => _queue ?? throw new RerankException(RerankErrorKind.Internal, "A listwise model reached the pair queue. This is a bug.");

    /// <summary>The model folder this reranker was loaded from.</summary>
    public ModelFolder Folder { get; }

    /// <summary>The tokenizer, exactly as the model sees text.</summary>
    public PairTokenizer Tokenizer { get; }

    /// <summary>The Hugging Face architecture being run, e.g. <c>XLMRobertaForSequenceClassification</c>.</summary>
    public string Architecture { get; }

    /// <summary>
    /// The function from logit to score, applied unless a call asks for <see cref="RerankOptions.RawScores"/>: Sigmoid, or
    /// as <see cref="CrossEncoderOptions.Activation"/> chose at load.
    /// </summary>
    public ScoreActivation Activation { get; }

    /// <summary>Tokens per pair (special tokens included) after which pairs are truncated.</summary>
    public int MaxLength { get; }

    /// <summary>Most pairs in one inference batch.</summary>
    public int BatchSize { get; }

    /// <summary>Most padded tokens in one inference batch (<see cref="CrossEncoderOptions.MaxBatchTokens"/>, or the default for the execution provider in use).</summary>
    public int MaxBatchTokens { get; }

    /// <summary>ONNX Runtime intra-op threads in use (<see cref="CrossEncoderOptions.Threads"/>, or one per physical core).</summary>
    public int Threads => _session.Threads;

    /// <summary>The ONNX Runtime execution provider in use.</summary>
    public string ExecutionProvider => _session.ExecutionProvider;

    /// <summary>Time spent in <see cref="Load"/>: parsing, validating, graph building and session creation.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>Number of inference batches run so far.</summary>
    public long BatchesRun => _listwise?.Queue.BatchesRun ?? Pairs.BatchesRun;

    /// <summary>Shared prompt prefixes computed once for several rows so far (<see cref="CrossEncoderOptions.ReusePromptPrefix"/>).</summary>
    internal long PrefixRuns => _session.PrefixRuns;

    /// <summary>Benchmark seam: forgets the prompt prefixes kept between batches. Call only while nothing is scoring.</summary>
    internal void ForgetPromptPrefixes() => _prefixes?.Clear();

    /// <summary>What waits in the batching queue now and what has run since load.</summary>
    public QueueStatistics QueueStatistics => _listwise?.Queue.Statistics ?? Pairs.Statistics;

    /// <summary>
    /// The model's name: <c>org/name</c> for a Hugging Face cache snapshot, else the folder's name. Telemetry and score
    /// caches key on it (<see cref="RerankerMetadata.ModelId"/>).
    /// </summary>
    public string ModelId => ModelIdOf(Folder.Directory);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(RerankerMetadata)) return new RerankerMetadata(RerankerMetadata.InProcessProvider, null, ModelId) { Listwise = Listwise };
        if (serviceType == typeof(RerankerLimits)) return new RerankerLimits(MaxLength, MaxBatchTokens, BatchSize, QueueStatistics.MaxQueuedTokens, ExecutionProvider, Folder.Config.TorchDtype ?? "float32");
        if (serviceType == typeof(PairTokenizer)) return Tokenizer;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    // The hub cache lays a model out as models--org--name/snapshots/<commit>/ (HubCache).
    private static string ModelIdOf(string directory)
    {
        var folder = new DirectoryInfo(directory);
        var repo = folder.Parent is { Name: "snapshots" } snapshots ? snapshots.Parent : null;
        return repo is not null && repo.Name.StartsWith("models--", StringComparison.Ordinal)
            ? repo.Name["models--".Length..].Replace("--", "/", StringComparison.Ordinal)
            : folder.Name;
    }

    /// <summary>
    /// Raised on the worker thread after each inference batch, for metrics. Handlers must be quick and must not
    /// block; an exception from one is logged and otherwise ignored.
    /// </summary>
    public event EventHandler<BatchReport>? BatchCompleted;

    /// <summary>
    /// Loads a model from a folder (as published on the Hugging Face hub) or a hub id, taken from
    /// the Hugging Face cache or downloaded into it (<see cref="HubDownload"/>; not when HF_HUB_OFFLINE=1).
    /// </summary>
    public static async Task<CrossEncoder> LoadAsync(string pathOrHubId, CrossEncoderOptions? options = null, CancellationToken cancellationToken = default)
    {
        options?.Validate();   // before a download, not after
        var directory = await HubDownload.ResolveModelDirectoryAsync(pathOrHubId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => LoadFolder(directory, options), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc cref="LoadAsync"/>
    public static CrossEncoder Load(string pathOrHubId, CrossEncoderOptions? options = null) =>
        LoadFolder(HubDownload.ResolveModelDirectoryAsync(pathOrHubId).GetAwaiter().GetResult(), options);

    private static CrossEncoder LoadFolder(string directory, CrossEncoderOptions? options)
    {
        options ??= new CrossEncoderOptions();
        options.Validate();
        var logger = options.Logger ?? NullLogger.Instance;
        var clock = Stopwatch.StartNew();

        var folder = ModelFolder.Open(directory);
        var architecture = RerankerArchitecture.For(folder);
        var tokenizer = architecture.LoadTokenizer(folder);
        if (tokenizer.VocabSize > folder.Config.VocabSize)
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"The tokenizer has {tokenizer.VocabSize} ids but {folder.ConfigPath} says vocab_size {folder.Config.VocabSize}; the tokenizer files do not belong to this model.");
        ScoreHead.CheckModules(folder, architecture.Name);
        if (architecture is JinaRerankerV3Architecture listwise)
            return LoadListwise(folder, listwise, (JinaRerankerV3Tokenizer)tokenizer, options, logger, clock);
        var activation = ScoreHead.Activation(folder, options.Activation);
        var maxLength = ChooseMaxLength(folder, options.MaxLength ?? architecture.DefaultMaxLength(folder), logger);

        var onnxFile = OnnxFileToRun(folder, options);
        // A published ONNX file may hold anything (int8 exports among them), so it keeps ONNX Runtime's default.
        var settings = new SessionSettings(options.Device, options.Threads ?? CpuTopology.DefaultThreads(),
            GraphOptimizationLevel.ORT_ENABLE_ALL, onnxFile is null ? options.PrepackFor(options.Precision) : options.PrepackWeights ?? true);
        EncoderSession session;
        if (onnxFile is not null)
        {
            architecture.CheckRunsFromOnnx(folder);
            session = EncoderSession.CreateFromFile(onnxFile, folder.Config.NumLabels, settings, logger, tokenizer.TokenTypeIds);
        }
        else
        {
            // The store stays open until the session exists: ONNX Runtime reads the weight files by path with the
            // offsets read from their headers, so the files must still be those after it has (ThrowIfChanged).
            using var weights = SafetensorsStore.Open(folder);
            weights.Validate(architecture.ExpectedTensors(folder.Config), architecture.TensorLayout(folder.Config));
            var graph = architecture.BuildGraph(folder.Config, weights, folder.WeightsDirectory, options, tokenizer).ToByteArray();
            if (options.SaveOnnxPath is not null) File.WriteAllBytes(options.SaveOnnxPath, graph);

            session = EncoderSession.Create(graph, folder.WeightsDirectory, folder.Config.NumLabels, settings, logger, tokenizer.TokenTypeIds);
            try
            {
                weights.ThrowIfChanged();
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
        try
        {
            if (options.WarmUp) session.WarmUp(folder.Config.VocabSize);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        if (options.Precision == Precision.Fp16 && session.ExecutionProvider != EncoderSession.CudaProvider)
            logger.LogWarning("fp16 runs natively on the CUDA provider only; on {Provider} ONNX Runtime computes it in float32 over float16-rounded weights. Use fp32 on the CPU (CrossEncoderOptions.Precision = Precision.Fp32).",
                session.ExecutionProvider);
        return new CrossEncoder(folder, tokenizer, session, maxLength, options, logger, clock.Elapsed, architecture.Name, activation);
    }

    // An explicit OnnxFile wins; a folder without safetensors runs its published export, by precision.
    private static string? OnnxFileToRun(ModelFolder folder, CrossEncoderOptions options)
    {
        if (options.OnnxFile is { } requested)
        {
            var path = Path.IsPathRooted(requested) ? requested : Path.Combine(folder.Directory, requested);
            if (!LinkedFile.Exists(path))
                throw new RerankException(RerankErrorKind.ModelNotFound,
                    $"ONNX file {path} not found; {folder.Directory} holds {(folder.OnnxFiles.Count == 0 ? "no .onnx files" : string.Join(", ", folder.OnnxFiles))}.");
            return path;
        }
        if (!folder.IsOnnxOnly) return null;
        string[] preferred = options.Precision == Precision.Int8
            ? ["onnx/model_int8.onnx", "onnx/model_quantized.onnx", "onnx/model_qint8_avx512_vnni.onnx", "onnx/model_qint8_avx2.onnx", "model_int8.onnx", "model_quantized.onnx"]
            : ["onnx/model.onnx", "model.onnx"];
        var found = preferred.FirstOrDefault(f => folder.OnnxFiles.Contains(f))
            ?? throw new RerankException(RerankErrorKind.ModelNotFound,
                $"{folder.Directory} has no safetensors and none of {string.Join(", ", preferred)}; it holds {string.Join(", ", folder.OnnxFiles)}. Pick one with CrossEncoderOptions.OnnxFile.");
        return Path.Combine(folder.Directory, found);
    }

    /// <summary>
    /// The architecture <see cref="Load"/> would run for the folder (e.g. <c>BertForSequenceClassification</c>), or a
    /// <see cref="RerankException"/> saying why it cannot, as <c>rerank info</c> reports it.
    /// </summary>
    public static string ArchitectureOf(ModelFolder folder)
    {
        var name = RerankerArchitecture.For(folder).Name;
        ScoreHead.CheckModules(folder, name);
        return name;
    }

    /// <summary>
    /// What the architecture <see cref="Load"/> would run reads from the config beyond the sizes, as (name, value) lines
    /// for <c>rerank info</c>: ModernBERT's global and local layers and its pooling; empty for the other architectures.
    /// Throws as <see cref="ArchitectureOf"/> does.
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> ArchitectureDetails(ModelFolder folder) => RerankerArchitecture.For(folder).Details(folder);

    /// <summary>
    /// The activation <see cref="Load"/> would apply to the folder's logits for <paramref name="mode"/>, or a
    /// <see cref="RerankException"/> saying why it cannot, as <c>rerank info</c> reports it.
    /// </summary>
    public static ScoreActivation ActivationOf(ModelFolder folder, ActivationMode mode) => ScoreHead.Activation(folder, mode);

    private static int ChooseMaxLength(ModelFolder folder, int? requested, ILogger logger)
    {
        var limit = folder.DefaultMaxLength;
        if (requested is null) return limit;
        if (requested.Value > limit)
        {
            logger.LogWarning("Max length {Requested} is more than the model supports; using {Limit}.", requested.Value, limit);
            return limit;
        }
        return requested.Value;
    }

    /// <summary>Scores each (query, document) pair; scores come back in input order.</summary>
    public float[] Predict(IReadOnlyList<(string Query, string Document)> pairs, RerankOptions? options = null) =>
        PredictAsync(pairs, options).GetAwaiter().GetResult();

    /// <inheritdoc cref="Predict"/>
    public async Task<float[]> PredictAsync(IReadOnlyList<(string Query, string Document)> pairs, RerankOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (_listwise is not null) return await PredictListwiseAsync(pairs, options, cancellationToken).ConfigureAwait(false);
        options = WithFolderInstruction(options);
        if (WindowedPairs.Needed(options))
            return (await ScoreWindowsAsync(pairs.Count, i => pairs[i], options!, cancellationToken).ConfigureAwait(false)).Scores;
        var (sequences, _) = EncodePairs(pairs.Count, i => pairs[i], options);
        return await ScoreTokenizedAsync(sequences, options?.RawScores ?? false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Scores <paramref name="documents"/> against <paramref name="query"/> in input order, with the tokens, cuts and
    /// timings of the call: what a server needs for usage, per-document truncation flags and timing headers.
    /// </summary>
    public async Task<DocumentScores> ScoreDocumentsAsync(string query, IReadOnlyList<string> documents, RerankOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        RankingInput.Check(query, documents, options);
        if (_listwise is not null) return await _listwise.ScoreAsync(query, documents, options, cancellationToken).ConfigureAwait(false);
        options = WithFolderInstruction(options);
        if (WindowedPairs.Needed(options))
            return await ScoreWindowsAsync(documents.Count, i => (query, documents[i]), options!, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var (sequences, truncated) = EncodePairs(documents.Count, i => (query, documents[i]), options);
        var tokenization = clock.Elapsed;
        var queued = await Pairs.EnqueueTimedAsync(sequences, cancellationToken).ConfigureAwait(false);
        var scores = Activate(queued.Results, options?.RawScores ?? false);
        return new DocumentScores(scores, sequences.Select(s => s.Length).ToArray(), truncated, tokenization, queued.QueueTime, queued.InferenceTime);
    }

    // Chunked documents and returned windows: every window of every document goes to the queue in one call, so
    // windows share batches with each other and with other callers' pairs.
    private async Task<DocumentScores> ScoreWindowsAsync(int count, Func<int, (string Query, string Document)> pair, RerankOptions options,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var windows = WindowedPairs.Encode(Tokenizer, MaxLength, _truncation, count, pair, options);
        var tokenization = clock.Elapsed;
        var queued = await Pairs.EnqueueTimedAsync(windows.Sequences, cancellationToken).ConfigureAwait(false);
        var (logits, tokens, winners) = windows.Combine(queued.Results, options.ChunkAggregation);
        var scores = Activate(logits, options.RawScores);
        return new DocumentScores(scores, tokens, windows.Truncated, tokenization, queued.QueueTime, queued.InferenceTime) { Windows = winners };
    }

    private RerankOptions? WithFolderInstruction(RerankOptions? options) =>
        _folderInstruction is null || options?.Instruction is not null ? options : (options ?? new RerankOptions()) with { Instruction = _folderInstruction };

    // The one place text pairs become model input, so Predict and ScoreDocuments cut and refuse alike.
    private (int[][] Sequences, bool[] Truncated) EncodePairs(int count, Func<int, (string Query, string Document)> pair, RerankOptions? options)
    {
        var truncation = options?.Truncation ?? _truncation;
        var direction = options?.TruncationDirection ?? TruncationDirection.Right;
        var maxDocumentTokens = options?.MaxDocumentTokens;
        if (maxDocumentTokens is < 1)
            throw new RerankException(RerankErrorKind.InvalidInput, $"The document token cap {maxDocumentTokens} must be at least 1.");
        var sequences = new int[count][];
        var truncated = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var (query, document) = pair(i);
            if (query is null || document is null)
                throw new RerankException(RerankErrorKind.InvalidInput, $"Pair {i} has a null query or document; pass empty strings instead.");
            var encoded = Tokenizer.EncodePair(query, document, MaxLength, truncation, direction, maxDocumentTokens, options?.Instruction);
            if (encoded.UntruncatedLength > MaxLength && options is { Truncate: false })
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"Document {i} makes a pair of {encoded.UntruncatedLength} tokens with the query, over the max length of {MaxLength}; shorten it or allow truncation.");
            sequences[i] = encoded.Ids;
            truncated[i] = encoded.Truncated;
        }
        return (sequences, truncated);
    }

    /// <summary>
    /// Scores already tokenized pairs (each <c>&lt;s&gt; q &lt;/s&gt;&lt;/s&gt; d &lt;/s&gt;</c> as the tokenizer makes them);
    /// the model sees exactly these ids.
    /// </summary>
    public async Task<float[]> ScoreTokenizedAsync(IReadOnlyList<int[]> sequences, bool rawScores = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (_listwise is not null)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"{Architecture} is listwise: it scores a query's documents together, not pre-tokenized pairs. Call ScoreDocumentsAsync or RerankAsync.");
        for (var i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i];
            if (s is null || s.Length == 0 || s.Length > Folder.DefaultMaxLength)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"Sequence {i} has {s?.Length ?? 0} tokens; it must have between 1 and {Folder.DefaultMaxLength}.");
            foreach (var id in s)
                if ((uint)id >= (uint)Folder.Config.VocabSize)
                    throw new RerankException(RerankErrorKind.InvalidInput, $"Sequence {i} holds token id {id}, outside the vocabulary [0, {Folder.Config.VocabSize}).");
        }
        var logits = await Pairs.EnqueueAsync(sequences, cancellationToken).ConfigureAwait(false);
        return Activate(logits, rawScores);
    }

    /// <summary>Scores <paramref name="documents"/> against <paramref name="query"/> and returns them best first (ties keep input order).</summary>
    public IReadOnlyList<RerankResult> Rank(string query, IReadOnlyList<string> documents, RerankOptions? options = null) =>
        RerankAsync(query, documents, options).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        var scored = await ScoreDocumentsAsync(query, documents, options, cancellationToken).ConfigureAwait(false);
        return RankScores(scored.Scores, documents, options?.TopN, scored.Windows);
    }

    /// <inheritdoc cref="RerankScores.Rank"/>
    public static IReadOnlyList<RerankResult> RankScores(IReadOnlyList<float> scores, IReadOnlyList<string> documents, int? topN = null,
        IReadOnlyList<DocumentWindow>? windows = null) => RerankScores.Rank(scores, documents, topN, windows);

    // Raw wins: a call that asks for logits gets them, whatever activation was chosen at load. In place.
    // A NaN is never a score: it comes from broken weights (a NaN in the checkpoint, an fp16 overflow) or a broken
    // execution provider, and ranking on it would sort garbage silently, so every scoring call fails loudly instead.
    private float[] Activate(float[] logits, bool raw)
    {
        var nan = logits.Count(float.IsNaN);
        if (nan > 0)
            throw new RerankException(RerankErrorKind.Backend,
                $"The model produced NaN as {nan} of its {logits.Length} scores; its weights or the execution provider are broken (look for NaN in the checkpoint, or run it in fp32 on the CPU).");
        if (raw || Activation == ScoreActivation.Identity) return logits;
        for (var i = 0; i < logits.Length; i++)
            logits[i] = Activation == ScoreActivation.Tanh ? (float)Math.Tanh(logits[i]) : RerankScores.Sigmoid(logits[i]);
        return logits;
    }

    public void Dispose()
    {
        _queue?.Dispose();
        _listwise?.Dispose();
        _prefixes?.Dispose();
        _session.Dispose();
    }
}
