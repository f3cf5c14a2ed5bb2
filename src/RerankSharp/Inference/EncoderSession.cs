using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace RerankSharp.Inference;

/// <summary>How the ONNX Runtime session is set up.</summary>
internal sealed record SessionSettings(Device Device, int IntraOpThreads, GraphOptimizationLevel OptimizationLevel, bool PrepackWeights = true, string? OptimizedModelPath = null);

/// <summary>
/// The segment ids of one padded row of <c>input_ids</c>, for graphs that take <c>token_type_ids</c>
/// (the tokenizer knows where its template puts the document).
/// </summary>
internal delegate void TokenTypeRule(ReadOnlySpan<long> ids, Span<long> types);

/// <summary>
/// One ONNX Runtime session over an encoder graph with inputs <c>input_ids</c>, <c>attention_mask</c>
/// (int64 [B, T]), optionally <c>token_type_ids</c> (int64 [B, T]), and output <c>logits</c> (float [B, L]).
/// Inputs are bound by name, so a graph exported elsewhere (an ONNX-only hub folder) runs as well as ours.
/// Not thread-safe: owned by one worker.
/// </summary>
internal sealed partial class EncoderSession : IDisposable
{
    public const string CudaProvider = "CUDAExecutionProvider";
    private const string InputIds = "input_ids", AttentionMask = "attention_mask", TokenTypeIds = "token_type_ids";
    private const string Logits = "logits";

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly TokenTypeRule? _tokenTypes;

    private EncoderSession(InferenceSession session, string provider, int numLabels, int threads, string[] inputNames, TokenTypeRule? tokenTypes,
        string output)
    {
        _session = session;
        _outputNames = [output];
        ExecutionProvider = provider;
        NumLabels = numLabels;
        Threads = threads;
        _inputNames = inputNames;
        _tokenTypes = tokenTypes;
        _cache = PrefixCacheInputs.Of(session);
    }

    /// <summary>Whether the graph reads <c>token_type_ids</c>.</summary>
    public bool TakesTokenTypeIds => _inputNames.Contains(TokenTypeIds);

    public string ExecutionProvider { get; }

    /// <summary>ONNX Runtime intra-op threads.</summary>
    public int Threads { get; }

    public int NumLabels { get; }

    /// <summary>
    /// Creates the session from a serialized graph whose initializers are external data located
    /// relative to <paramref name="weightsDirectory"/> (the model folder).
    /// </summary>
    public static EncoderSession Create(byte[] model, string weightsDirectory, int numLabels, SessionSettings settings, ILogger logger,
        TokenTypeRule? tokenTypes = null) =>
        Create(options => new InferenceSession(model, options), weightsDirectory, numLabels, settings, logger, tokenTypes, "the model graph");

    /// <summary>
    /// As <see cref="Create(byte[], string, int, SessionSettings, ILogger, TokenTypeRule?)"/> for a graph of our own whose
    /// output is not one logit per row but float rows of another count (a listwise reranker's embeddings at its marker
    /// tokens, [K, P]); <see cref="Run"/> then returns that output, its row count left to the caller to check.
    /// </summary>
    public static EncoderSession CreateWithOutput(byte[] model, string weightsDirectory, string output, SessionSettings settings, ILogger logger) =>
        Create(options => new InferenceSession(model, options), weightsDirectory, 0, settings, logger, null, "the model graph", output);

    /// <summary>
    /// Creates the session from an ONNX file as published (an ONNX-only hub folder's <c>onnx/model.onnx</c>), its
    /// external data, if any, beside it.
    /// </summary>
    public static EncoderSession CreateFromFile(string onnxPath, int numLabels, SessionSettings settings, ILogger logger,
        TokenTypeRule? tokenTypes = null) =>
        Create(options => new InferenceSession(onnxPath, options), Path.GetDirectoryName(onnxPath)!, numLabels, settings, logger, tokenTypes, onnxPath);

    /// <summary>
    /// The options every encoder session starts from (threads, external data folder, prepacking, our CPU kernels),
    /// before a provider is chosen; also what the benchmark's operator profile runs with.
    /// </summary>
    internal static SessionOptions Options(SessionSettings settings, string weightsDirectory)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = settings.OptimizationLevel,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = settings.IntraOpThreads,
            InterOpNumThreads = 1,
            // Failures reach the caller as exceptions carrying ORT's message; ORT's own log line
            // (coloured, on stderr) would only repeat it.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        try
        {
            // The model comes from memory, so ORT needs to be told where its external data lives;
            // it then maps or reads the safetensors itself and no managed copy of the weights exists.
            options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", weightsDirectory);
            // Spinning after each Run buys ≤ 5% here (research/ort.md §6) and takes CPU from tokenization.
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            // Several models in one process share ONNX Runtime's global pool rather than each making one (SharedThreadPool).
            if (SharedThreadPool.Enabled) options.DisablePerSessionThreads();
            // Prepacking re-lays the weights for the GEMM kernels: ~4 s more at load for the full
            // model, 1.6× faster at 1×128 tokens, no gain at 10×512 (docs/benchmarks.md).
            if (!settings.PrepackWeights) options.AddSessionConfigEntry("session.disable_prepacking", "1");
            // Our graphs use RerankSharp's CPU kernels when the session is meant for the CPU; a published ONNX file never
            // names them, and registering costs nothing.
            RerankKernels.Register(options);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private static EncoderSession Create(Func<SessionOptions, InferenceSession> open, string weightsDirectory, int numLabels,
        SessionSettings settings, ILogger logger, TokenTypeRule? tokenTypes, string what, string output = Logits)
    {
        SessionOptions? options = null;
        try
        {
            options = Options(settings, weightsDirectory);
            if (settings.OptimizedModelPath is not null) options.OptimizedModelFilePath = settings.OptimizedModelPath;

            var provider = "CPUExecutionProvider";
            if (settings.Device != Device.Cpu)
            {
                var available = OrtEnv.Instance().GetAvailableProviders();
                if (available.Contains(CudaProvider))
                {
                    try
                    {
                        // A provider that cannot load (no GPU driver, CUDA or cuDNN libraries missing) is also logged
                        // by ORT's process-wide logger as a coloured error line; the warning below says it once.
                        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
                        options.AppendExecutionProvider_CUDA(0);
                        provider = CudaProvider;
                    }
                    catch (OnnxRuntimeException e)
                    {
                        logger.LogWarning("CUDA was requested but could not be initialised ({Reason}); running on CPU. The CUDA provider of ONNX Runtime 1.32 needs an NVIDIA driver, CUDA 13 (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10) and cuDNN 9 on the library path, as in deploy/Dockerfile.cuda.",
                            e.Message);
                    }
                }
                else if (settings.Device == Device.Cuda)
                {
                    logger.LogWarning("CUDA was requested but this ONNX Runtime has no CUDA provider (available: {Providers}); running on CPU. Install the Microsoft.ML.OnnxRuntime.Gpu.Linux runtime for GPU.",
                        string.Join(", ", available));
                }
            }

            var session = open(options);
            try
            {
                return new EncoderSession(session, provider, numLabels, settings.IntraOpThreads, CheckSignature(session, numLabels, what, output), tokenTypes, output);
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new RerankException(RerankErrorKind.Backend, $"ONNX Runtime could not load {what}: {e.Message}", e);
        }
        finally
        {
            options?.Dispose();
        }
    }

    // Inputs by name, in the order Run binds them; an input we cannot fill, or logits of the wrong width, is refused
    // here rather than at the first request.
    private static string[] CheckSignature(InferenceSession session, int numLabels, string what, string output)
    {
        var inputs = session.InputMetadata;
        var unknown = inputs.Keys.Where(name => name is not (InputIds or AttentionMask or TokenTypeIds) && !PrefixCacheInputs.IsCacheInput(name)).ToList();
        if (!inputs.ContainsKey(InputIds) || unknown.Count > 0)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{what} has inputs [{string.Join(", ", inputs.Keys)}]; a reranker graph takes input_ids and optionally attention_mask and token_type_ids. Use an ONNX export of a sequence-classification model.");
        foreach (var (name, meta) in inputs.Where(input => !PrefixCacheInputs.IsCacheInput(input.Key)))
            if (meta.ElementDataType != TensorElementType.Int64 || meta.Dimensions.Length != 2)
                throw new RerankException(RerankErrorKind.UnsupportedModel,
                    $"{what}: input {name} is {meta.ElementDataType} of rank {meta.Dimensions.Length}; RerankSharp feeds int64 [batch, tokens].");
        if (!session.OutputMetadata.TryGetValue(output, out var logits))
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{what} has outputs [{string.Join(", ", session.OutputMetadata.Keys)}] but no {output}; use an ONNX export of a sequence-classification model.");
        if (output != Logits)
        {
            if (logits.ElementDataType != TensorElementType.Float || logits.Dimensions.Length != 2)
                throw new RerankException(RerankErrorKind.Internal, $"{what}: {output} is {logits.ElementDataType} of rank {logits.Dimensions.Length}, not float rows. This is a bug.");
        }
        else if (logits.ElementDataType != TensorElementType.Float || logits.Dimensions.Length != 2 || logits.Dimensions[1] is var width && width > 0 && width != numLabels)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{what}: logits are {logits.ElementDataType} [{string.Join(", ", logits.Dimensions)}]; a reranker returns float [batch, {numLabels}].");
        return new[] { InputIds, AttentionMask, TokenTypeIds }.Where(inputs.ContainsKey).ToArray();
    }

    /// <summary>
    /// One run over a short pair of ids valid in the vocabulary. The first run of a
    /// session pays for faulting in the mapped weights and for the runtime's first allocations (0.5–0.8 s for the full
    /// model here, against 0.3 s for a steady 128-token pair); doing it at load keeps it off the first request.
    /// </summary>
    /// <param name="vocabularySize">The model's vocabulary, which the ids must stay inside.</param>
    /// <param name="sequence">The ids to run instead of the default 16, for graphs that need particular tokens (a listwise
    /// reranker's markers).</param>
    public void WarmUp(int vocabularySize, int[]? sequence = null)
    {
        var tokens = sequence?.Length ?? 16;
        var ids = new long[tokens];
        for (var i = 0; i < tokens; i++) ids[i] = sequence?[i] ?? Math.Min(i == 0 ? 0 : i == tokens - 1 ? 2 : 5, vocabularySize - 1);
        var mask = new long[tokens];
        Array.Fill(mask, 1L);
        Run(ids, mask, 1, tokens, CancellationToken.None);
    }

    /// <summary>
    /// Runs one padded batch; returns logits [batch × NumLabels], row-major (or, for <see cref="CreateWithOutput"/>, that
    /// output's float values, row-major). With <paramref name="prefix"/> (a graph that takes a prefix cache) every row
    /// continues the prefix's tokens and holds only what follows them.
    /// </summary>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> fires during the run.</exception>
    public float[] Run(long[] inputIds, long[] attentionMask, int batch, int tokens, CancellationToken cancellationToken, PromptPrefix? prefix = null)
    {
        if (inputIds.Length != batch * tokens || attentionMask.Length != batch * tokens)
            throw new RerankException(RerankErrorKind.Internal, $"Batch buffers hold {inputIds.Length} ids for a {batch}×{tokens} batch. This is a bug.");
        cancellationToken.ThrowIfCancellationRequested();

        long[] shape = [batch, tokens];
        var values = new OrtValue[_inputNames.Length];
        using var disposeValues = new OrtValues(values);
        for (var i = 0; i < _inputNames.Length; i++)
            values[i] = OrtValue.CreateTensorValueFromMemory(_inputNames[i] switch
            {
                InputIds => inputIds,
                AttentionMask => attentionMask,
                _ => SegmentIds(inputIds, batch, tokens),
            }, shape);
        var (names, inputs) = WithCache(_inputNames, values, prefix);
        // A fresh RunOptions per call: its Terminate flag is this call's alone, so cancelling one
        // batch (an 8k-token run can take many seconds) never stops another.
        using var runOptions = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        try
        {
            using var outputs = _session.Run(runOptions, names, inputs, _outputNames);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            if (_outputNames[0] == Logits && logits.Length != batch * NumLabels)
                throw new RerankException(RerankErrorKind.Internal, $"The graph returned {logits.Length} logits for {batch} rows × {NumLabels} labels. This is a bug.");
            return logits.ToArray();
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The inference run was terminated because its callers cancelled.", cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw RunFailure(e.Message, batch, tokens, e);
        }
    }

    private long[] SegmentIds(long[] inputIds, int batch, int tokens)
    {
        var types = new long[inputIds.Length];
        if (_tokenTypes is not null)
            for (var row = 0; row < batch; row++)
                _tokenTypes(inputIds.AsSpan(row * tokens, tokens), types.AsSpan(row * tokens, tokens));
        return types;
    }

    private sealed class OrtValues(OrtValue?[] values) : IDisposable
    {
        public void Dispose()
        {
            foreach (var value in values) value?.Dispose();
        }
    }

    /// <summary>
    /// A failed run as the user can act on it: an allocation failure (the CPU arena, malloc, or
    /// CUDA's "out of memory") means the batch was too large for this machine, and says which knobs
    /// make batches smaller; anything else is reported as ONNX Runtime said it.
    /// </summary>
    internal static RerankException RunFailure(string message, int batch, int tokens, Exception inner)
    {
        var firstLine = message.Split('\n')[0].Trim();
        if (IsOutOfMemory(message))
        {
            var size = System.Text.RegularExpressions.Regex.Match(message, @"buffer of size (\d+)") is { Success: true } m
                ? $"; it could not allocate {long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) / 1048576.0:F0} MiB more"
                : "";
            return new RerankException(RerankErrorKind.Backend,
                $"Out of memory running a batch of {batch} pairs × {tokens} tokens{size}. Make batches smaller: lower CrossEncoderOptions.BatchSize "
                + "or CrossEncoderOptions.MaxBatchTokens, or CrossEncoderOptions.MaxLength for shorter pairs.", inner);
        }
        return new RerankException(RerankErrorKind.Backend, $"ONNX Runtime failed on a {batch}×{tokens} batch: {firstLine}", inner);
    }

    // ORT's BFC arena: "Failed to allocate memory for requested buffer of size N"; a failed
    // malloc surfaces as std::bad_alloc ("bad allocation"); CUDA: "out of memory", CUBLAS_STATUS_ALLOC_FAILED.
    private static bool IsOutOfMemory(string message) =>
        message.Contains("Failed to allocate memory", StringComparison.OrdinalIgnoreCase)
        || message.Contains("bad_alloc", StringComparison.OrdinalIgnoreCase)
        || message.Contains("bad allocation", StringComparison.OrdinalIgnoreCase)
        || message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
        || message.Contains("ALLOC_FAILED", StringComparison.Ordinal);

    public void Dispose()
    {
        _cache?.Dispose();
        _session.Dispose();
    }
}
