using System.CommandLine;
using Microsoft.Extensions.Logging;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;

namespace RerankSharp.Cli;

/// <summary>
/// Options shared by every command. Each is mirrored by an environment variable
/// (<c>--max-length</c> ↔ <c>RERANK_MAX_LENGTH</c>); the flag wins over the variable.
/// </summary>
internal static class CommonOptions
{
    public const string DefaultModel = "BAAI/bge-reranker-v2-m3";

    public static readonly Option<string> Model = new("--model", "-m")
    {
        Description = "Model folder (config.json, model.safetensors, tokenizer files) or Hugging Face hub id, taken from the hub cache or downloaded into it (not with HF_HUB_OFFLINE=1); serve takes it repeated, each NAME=PATH_OR_HUB_ID or PATH_OR_HUB_ID. Env: RERANK_MODEL (serve: comma-separated).",
        DefaultValueFactory = _ => Env("RERANK_MODEL") ?? DefaultModel,
        Recursive = true,
        // Repeatable so that serve can host several models; every other command runs one and says so.
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        CustomParser = OneModelUnlessServing,
    };

    private static string OneModelUnlessServing(System.CommandLine.Parsing.ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return Env("RERANK_MODEL") ?? DefaultModel;
        var command = (result.Parent?.Parent as System.CommandLine.Parsing.CommandResult)?.Command.Name;
        if (result.Tokens.Count > 1 && command != "serve")
            result.AddError($"--model is given {result.Tokens.Count} times; {command ?? "this command"} runs one model (only rerank serve hosts several).");
        return result.Tokens[^1].Value;
    }

    /// <summary>Every --model value, in order (serve's models); RERANK_MODEL comma-separated, or the default, when none is given.</summary>
    public static IReadOnlyList<string> Models(ParseResult result)
    {
        if (result.GetResult(Model) is { Tokens.Count: > 0 } given) return given.Tokens.Select(t => t.Value).ToList();
        var variable = Env("RERANK_MODEL");
        if (variable is null) return [DefaultModel];
        // A comma in an existing path is part of it; otherwise commas separate models.
        return Directory.Exists(variable) ? [variable] : variable.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static readonly Option<int?> MaxLength = new("--max-length")
    {
        Description = "Tokens per query+document pair, special tokens included (default: the model's, 8192 for bge-reranker-v2-m3). Env: RERANK_MAX_LENGTH.",
        DefaultValueFactory = _ => EnvInt("RERANK_MAX_LENGTH"),
        Recursive = true,
    };

    public static readonly Option<int> BatchSize = new("--batch-size")
    {
        Description = "Most pairs per inference batch. Env: RERANK_BATCH_SIZE.",
        DefaultValueFactory = _ => EnvInt("RERANK_BATCH_SIZE") ?? new CrossEncoderOptions().BatchSize,
        Recursive = true,
    };

    public static readonly Option<int?> MaxBatchTokens = new("--max-batch-tokens")
    {
        Description = $"Most padded tokens (pairs × longest pair) per inference batch, pairs of many requests sharing it under serve (default: {CrossEncoderOptions.CpuBatchTokens} on the CPU, where small batches stay in cache; {CrossEncoderOptions.GpuBatchTokens} on CUDA); lower it if a batch runs out of memory. Env: RERANK_MAX_BATCH_TOKENS.",
        DefaultValueFactory = _ => EnvInt("RERANK_MAX_BATCH_TOKENS"),
        Recursive = true,
    };

    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "ONNX Runtime threads (default: one per physical core this process may use). Env: RERANK_THREADS.",
        DefaultValueFactory = _ => EnvInt("RERANK_THREADS"),
        Recursive = true,
    };

    // The enum options are nullable so that help shows no capitalised "[default: Cpu]"; the default is in the description
    // and applied where the value is read.
    public static readonly Option<Device?> Device = new("--device")
    {
        HelpName = ParseErrors.HelpName<Device>(),
        Description = "cpu (default), cuda or auto (cuda only when the ONNX Runtime GPU runtime is installed). Env: RERANK_DEVICE.",
        DefaultValueFactory = _ => Env("RERANK_DEVICE") is null ? null : EnvEnum("RERANK_DEVICE", Inference.Device.Cpu),
        Recursive = true,
    };

    public static readonly Option<Precision?> Precision = new("--precision")
    {
        HelpName = ParseErrors.HelpName<Precision>(),
        Description = "fp32 (default: the reference's scores), fp16 (for GPUs: float16 weights, projections and attention; float32 LayerNorms and head) or int8 (CPU: int8 weight matrices, approximate; measure it with `rerank eval`, which takes a comma-separated list to evaluate each). Env: RERANK_PRECISION.",
        CustomParser = arg => ParsePrecision(arg, arg.Tokens.Single().Value, "--precision"),
        DefaultValueFactory = arg => Env("RERANK_PRECISION") is { } value ? ParsePrecision(arg, value, "RERANK_PRECISION") : null,
        Recursive = true,
    };

    public static readonly Option<bool?> Prepack = new("--prepack")
    {
        Description = "Re-lay the weight matrices for the GEMM kernels at load: true or false (default: on for int8 and for serve; off for fp32 one-shot commands, where it adds ~5 s to the load of bge-reranker-v2-m3 for runs up to 7% faster). Env: RERANK_PREPACK=1|0.",
        DefaultValueFactory = _ => Env("RERANK_PREPACK") switch { "1" or "true" => true, "0" or "false" => false, _ => null },
        Recursive = true,
    };

    public static readonly Option<bool> Raw = new("--raw")
    {
        Description = "Raw logits instead of scores (sigmoid in [0, 1], or as --activation says); wins over --activation. Env: RERANK_RAW=1.",
        DefaultValueFactory = _ => Env("RERANK_RAW") is "1" or "true",
        Recursive = true,
    };

    public static readonly Option<ActivationMode?> Activation = new("--activation")
    {
        HelpName = ParseErrors.HelpName<ActivationMode>(),
        Description = "What turns a logit into the score: sigmoid (default, every model; scores in [0, 1]), model (the activation the model folder declares "
            + "for sentence-transformers' CrossEncoder.predict, so scores equal predict's: the logit for ms-marco-MiniLM, the sigmoid for bge-reranker; rerank info shows it) "
            + "or none (the logit). --raw wins. Env: RERANK_ACTIVATION.",
        CustomParser = arg => ParseActivation(arg, arg.Tokens.Single().Value, "--activation"),
        DefaultValueFactory = arg => Env("RERANK_ACTIVATION") is { } value ? ParseActivation(arg, value, "RERANK_ACTIVATION") : null,
        Recursive = true,
    };

    public static readonly Option<string?> SaveOnnx = new("--save-onnx")
    {
        Description = "Also write the ONNX graph built for the model to this path (weights stay in model.safetensors as external data), for Netron or onnx tools.",
        Recursive = true,
    };

    public static readonly Option<string?> OnnxFile = new("--onnx-file")
    {
        Description = "Run this ONNX file of the model folder (e.g. onnx/model_quantized.onnx) instead of building the graph from safetensors; "
            + "a folder with only ONNX exports runs onnx/model.onnx without it. Env: RERANK_ONNX_FILE.",
        DefaultValueFactory = _ => Env("RERANK_ONNX_FILE"),
        Recursive = true,
    };

    /// <summary>Added to the commands that score pairs (rank, score, demo), not common to all.</summary>
    public static readonly Option<string?> Instruction = new("--instruction")
    {
        Description = "The task instruction of instruction-following rerankers (Qwen3-Reranker's <Instruct>; default: the model card's "
            + "\"Given a web search query, retrieve relevant passages that answer the query\"). Other rerankers ignore it. Env: RERANK_INSTRUCTION.",
        DefaultValueFactory = _ => Env("RERANK_INSTRUCTION"),
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show informational messages and stack traces of errors.",
        Recursive = true,
    };

    /// <summary>The options whose values are enum names, which help shows in the lowercase the docs use.</summary>
    public static IEnumerable<Option> EnumOptions => [Device, Precision, Activation, LongDocumentOptions.Mode, LongDocumentOptions.Aggregation];

    public static void AddTo(RootCommand root)
    {
        foreach (var option in new Option[] { Model, MaxLength, BatchSize, MaxBatchTokens, Threads, Device, Precision, Prepack, Raw, Activation, SaveOnnx, OnnxFile, Verbose })
            root.Options.Add(option);
    }

    /// <summary>
    /// The folder of <c>--model</c>: a folder as it is; a hub id from the Hugging Face cache, or
    /// downloaded into it with progress on standard error (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE apply).
    /// </summary>
    public static async Task<string> ResolveModelAsync(ParseResult result, CancellationToken ct)
    {
        await using var progress = new DownloadProgressView();
        return await HubDownload.ResolveModelDirectoryAsync(result.GetValue(Model)!, progress: progress, cancellationToken: ct);
    }

    public static ILogger Logger(ParseResult result) =>
        new StderrLogger(result.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Warning);

    /// <summary>The engine options of the command line; <paramref name="precision"/> (eval's, one of its list) instead of --precision.</summary>
    public static CrossEncoderOptions EncoderOptions(ParseResult result, Onnx.Precision? precision = null) =>
        precision is null && PrecisionText(result)?.Contains(',', StringComparison.Ordinal) == true
        ? throw new RerankException(RerankErrorKind.InvalidInput, $"--precision {PrecisionText(result)}: this command runs one precision; a list is for rerank eval.")
        : new()
    {
        Device = result.GetValue(Device) ?? Inference.Device.Cpu,
        MaxLength = result.GetValue(MaxLength),
        BatchSize = result.GetValue(BatchSize),
        MaxBatchTokens = result.GetValue(MaxBatchTokens),
        Threads = result.GetValue(Threads),
        Precision = precision ?? result.GetValue(Precision) ?? Onnx.Precision.Fp32,
        PrepackWeights = result.GetValue(Prepack),
        SaveOnnxPath = result.GetValue(SaveOnnx),
        OnnxFile = result.GetValue(OnnxFile),
        Activation = ActivationOf(result),
        Logger = Logger(result),
    };

    /// <summary>--activation or RERANK_ACTIVATION, sigmoid when neither is given.</summary>
    public static ActivationMode ActivationOf(ParseResult result) => result.GetValue(Activation) ?? ActivationMode.Sigmoid;

    /// <summary>
    /// What --precision (or RERANK_PRECISION) says, as written: <c>rerank eval</c> reads a comma-separated list from it;
    /// every other command takes one precision (<see cref="EncoderOptions"/> refuses a list). Null when neither is given.
    /// </summary>
    public static string? PrecisionText(ParseResult result) =>
        result.GetResult(Precision) is { Tokens.Count: > 0 } given ? given.Tokens[0].Value : Env("RERANK_PRECISION");

    // Each item of a comma-separated list must be a precision (eval's list); the value is the first.
    private static Onnx.Precision ParsePrecision(System.CommandLine.Parsing.ArgumentResult result, string value, string origin) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).DefaultIfEmpty(value)
            .Select(item => ParseName(result, item, origin, Onnx.Precision.Fp32, "a precision; use fp32 (the reference's scores), fp16 (GPU) or int8 (CPU, approximate)"))
            .ToList()[0];

    private static ActivationMode ParseActivation(System.CommandLine.Parsing.ArgumentResult result, string value, string origin) =>
        ParseName(result, value, origin, ActivationMode.Sigmoid,
            "an activation; use sigmoid (the default), model (the one the model folder declares, as sentence-transformers' CrossEncoder.predict) or none (the logit)");

    // One of T's names in any case (not a number, which Enum.TryParse would take); otherwise a parse error that says what to use.
    private static T ParseName<T>(System.CommandLine.Parsing.ArgumentResult result, string value, string origin, T fallback, string expected)
        where T : struct, Enum
    {
        if (Enum.GetNames<T>().FirstOrDefault(name => string.Equals(name, value, StringComparison.OrdinalIgnoreCase)) is { } known)
            return Enum.Parse<T>(known);
        result.AddError($"{origin} {value} is not {expected}.");
        return fallback;
    }

    /// <summary>A RERANK_… variable's value, or null when unset or empty.</summary>
    internal static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    /// <summary>A RERANK_… variable naming one of <typeparamref name="T"/>'s values (any case), or <paramref name="fallback"/> when unset.</summary>
    internal static T EnvEnum<T>(string name, T fallback) where T : struct, Enum =>
        Env(name) is { } value
            ? Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                ? parsed
                : throw new RerankException(RerankErrorKind.InvalidInput,
                    $"{name}={value} is not one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.")
            : fallback;

    internal static int? EnvInt(string name) => EnvLong(name) is { } value ? checked((int)value) : null;

    internal static long? EnvLong(string name) =>
        Env(name) is { } value
            ? long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new RerankException(RerankErrorKind.InvalidInput, $"{name}={value} is not a whole number.")
            : null;
}
