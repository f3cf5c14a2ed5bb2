using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace RerankSharp.Inference;

/// <summary>
/// The keys and values of a prompt prefix that several rows share (a decoder reranker's system text, instruction and
/// query), computed once by <see cref="EncoderSession.RunPrefix"/> and read by every later run given it. Owns the
/// native tensors: dispose after the last run that reads it.
/// </summary>
internal sealed class PromptPrefix : IDisposable
{
    private readonly IDisposableReadOnlyCollection<OrtValue> _present;

    internal PromptPrefix(IDisposableReadOnlyCollection<OrtValue> present, int length)
    {
        _present = present;
        Length = length;
    }

    /// <summary>Tokens in the prefix.</summary>
    public int Length { get; }

    /// <summary>The cache tensors, in the order of the graph's past inputs.</summary>
    internal IReadOnlyList<OrtValue> Values => _present;

    public void Dispose() => _present.Dispose();
}

/// <summary>
/// The cache inputs of a graph built with a prefix cache (DecoderGraph's <c>past_key_values.{i}.key</c> /
/// <c>.value</c>, [1, K, P, D]), their present outputs, and the empty cache (P = 0) a run without a prefix binds.
/// </summary>
internal sealed class PrefixCacheInputs : IDisposable
{
    private const string PastPrefix = "past_key_values.";

    private PrefixCacheInputs(string[] pastNames, string[] presentNames, OrtValue[] empty)
    {
        PastNames = pastNames;
        PresentNames = presentNames;
        Empty = empty;
    }

    public string[] PastNames { get; }

    public string[] PresentNames { get; }

    /// <summary>One [1, K, 0, D] tensor per past input: no prefix.</summary>
    public OrtValue[] Empty { get; }

    public static bool IsCacheInput(string name) => name.StartsWith(PastPrefix, StringComparison.Ordinal);

    /// <summary>The session's cache inputs, or null when its graph takes none.</summary>
    public static PrefixCacheInputs? Of(InferenceSession session)
    {
        var past = session.InputMetadata.Where(input => IsCacheInput(input.Key)).ToList();
        if (past.Count == 0) return null;
        var names = past.Select(p => p.Key).ToArray();
        // past_key_values.{i}.key → present.{i}.key, as DecoderGraph names them.
        var present = names.Select(n => "present." + n[PastPrefix.Length..]).ToArray();
        foreach (var (name, meta) in past)
        {
            var d = meta.Dimensions;
            if (meta.ElementDataType != TensorElementType.Float || d.Length != 4 || d[1] <= 0 || d[3] <= 0)
                throw new RerankException(RerankErrorKind.UnsupportedModel, $"The graph's cache input {name} is {meta.ElementDataType} [{string.Join(", ", d)}]; RerankSharp feeds float [1, K, P, D].");
        }
        var missing = present.Where(n => !session.OutputMetadata.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new RerankException(RerankErrorKind.UnsupportedModel, $"The graph takes a prefix cache but has no output {missing[0]}.");
        var empty = past.Select(p => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float,
            [1, p.Value.Dimensions[1], 0, p.Value.Dimensions[3]])).ToArray();
        return new PrefixCacheInputs(names, present, empty);
    }

    public void Dispose()
    {
        foreach (var value in Empty) value.Dispose();
    }
}

internal sealed partial class EncoderSession
{
    private readonly PrefixCacheInputs? _cache;

    private long _prefixRuns;

    /// <summary>Whether the graph takes a prompt prefix's cache (<see cref="RunPrefix"/>).</summary>
    public bool TakesPrefixCache => _cache is not null;

    /// <summary>Prefixes run so far (<see cref="RunPrefix"/> calls), for tests and statistics.</summary>
    public long PrefixRuns => Interlocked.Read(ref _prefixRuns);

    /// <summary>
    /// Runs <paramref name="prefixIds"/> alone and keeps their keys and values: the prefix that the rows of later
    /// <see cref="Run"/> calls continue.
    /// </summary>
    public PromptPrefix RunPrefix(long[] prefixIds, CancellationToken cancellationToken)
    {
        if (_cache is null)
            throw new RerankException(RerankErrorKind.Internal, "RunPrefix on a graph without a prefix cache. This is a bug.");
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _prefixRuns);
        var mask = new long[prefixIds.Length];
        Array.Fill(mask, 1L);
        long[] shape = [1, prefixIds.Length];
        using var ids = OrtValue.CreateTensorValueFromMemory(prefixIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        var (names, inputs) = WithCache([InputIds, AttentionMask], [ids, maskValue], prefix: null);
        using var runOptions = new RunOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
        try
        {
            return new PromptPrefix(_session.Run(runOptions, names, inputs, _cache.PresentNames), prefixIds.Length);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The inference run was terminated because its callers cancelled.", cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw RunFailure(e.Message, 1, prefixIds.Length, e);
        }
    }

    // The run's inputs, followed by the prefix's cache (or the empty one) when the graph takes a cache.
    private (IReadOnlyCollection<string> Names, IReadOnlyCollection<OrtValue> Values) WithCache(string[] names, OrtValue?[] values, PromptPrefix? prefix)
    {
        if (_cache is null)
        {
            if (prefix is not null)
                throw new RerankException(RerankErrorKind.Internal, "A prompt prefix was given to a graph without a prefix cache. This is a bug.");
            return (names, values!);
        }
        IReadOnlyList<OrtValue> cache = prefix?.Values ?? _cache.Empty;
        return ([.. names, .. _cache.PastNames], [.. values!, .. cache]);
    }
}
