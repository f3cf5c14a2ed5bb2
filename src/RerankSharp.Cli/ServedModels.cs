using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace RerankSharp.Cli;

/// <summary>
/// One model of <c>rerank serve</c>: from a <c>--model [NAME=]PATH_OR_HUB_ID</c> or an entry of the models file,
/// with the options the file may set for it (the command line's for the rest).
/// </summary>
internal sealed record ServedModelSpec(string Name, string Source)
{
    public Precision? Precision { get; init; }
    public int? MaxLength { get; init; }
    public int? BatchSize { get; init; }
    public int? MaxBatchTokens { get; init; }
    public Device? Device { get; init; }
    public ActivationMode? Activation { get; init; }
    public string? OnnxFile { get; init; }
    public long? MemoryBytes { get; init; }
    public ServedModelDefaults Defaults { get; init; } = new();
}

/// <summary>
/// Reads serve's models: repeated <c>--model</c> values and the models file (JSON or YAML), and builds the
/// <see cref="RerankModelRegistry"/> that loads them.
/// </summary>
internal static class ServedModels
{
    /// <summary>
    /// <c>NAME=PATH_OR_HUB_ID</c> or <c>PATH_OR_HUB_ID</c> (named after the folder or the hub id). A value that is an
    /// existing path is never split, so a folder with <c>=</c> in its name still works.
    /// </summary>
    public static ServedModelSpec Parse(string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0 && !Directory.Exists(value))
        {
            var name = value[..equals].Trim();
            var source = value[(equals + 1)..].Trim();
            if (source.Length == 0) throw new RerankException(RerankErrorKind.InvalidInput, $"--model {value}: nothing after '='; give NAME=PATH_OR_HUB_ID.");
            return new ServedModelSpec(name, source);
        }
        return new ServedModelSpec(NameOf(value), value);
    }

    /// <summary>A folder's name, or the hub id as it is: what a one-model server has always called its model.</summary>
    public static string NameOf(string source) =>
        Directory.Exists(source) ? Path.GetFileName(Path.GetFullPath(source).TrimEnd(Path.DirectorySeparatorChar)) : source;

    /// <summary>The models file's entries and its <c>max_memory</c>; relative paths are relative to the file's folder.</summary>
    public static (IReadOnlyList<ServedModelSpec> Models, long? MaxMemory) ReadFile(string path)
    {
        if (!File.Exists(path)) throw new RerankException(RerankErrorKind.InvalidInput, $"Models file {path} not found; pass a JSON or YAML file with a \"models\" list (docs/server.md).");
        var text = File.ReadAllText(path);
        ModelsFile file;
        try
        {
            var yaml = Path.GetExtension(path).ToLowerInvariant() is ".yaml" or ".yml";
            file = (yaml ? ReadYaml(text) : JsonSerializer.Deserialize<ModelsFile>(text, FileJson))
                ?? throw new RerankException(RerankErrorKind.InvalidInput, $"Models file {path} is empty; give a \"models\" list.");
        }
        catch (Exception e) when (e is JsonException or YamlException)
        {
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"Models file {path} cannot be read: {(e as YamlException)?.InnerException?.Message ?? e.Message} (docs/server.md shows its keys).", e);
        }
        if (file.Models is not { Count: > 0 })
            throw new RerankException(RerankErrorKind.InvalidInput, $"Models file {path} has no \"models\" list; give at least one entry with a \"model\" (folder or hub id).");
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var specs = file.Models.Select((entry, i) => entry.ToSpec(folder, $"{path}, model {i + 1}")).ToList();
        return (specs, file.MaxMemory is null ? null : ParseBytes(file.MaxMemory, $"{path}: max_memory"));
    }

    private static ModelsFile? ReadYaml(string text) =>
        new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<ModelsFile?>(text);

    private static readonly JsonSerializerOptions FileJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // A misspelt key must not be silently ignored: the model would run with other settings than written.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Bytes from <c>4GB</c>, <c>512MiB</c>, <c>1.5G</c>, <c>800M</c> or a plain number of bytes (powers of 1024 either way, as memory is counted).</summary>
    public static long ParseBytes(string value, string what)
    {
        var text = value.Trim();
        var digits = text.TakeWhile(c => char.IsDigit(c) || c == '.').Count();
        var unit = text[digits..].Trim().ToUpperInvariant().TrimEnd('B').TrimEnd('I');
        var scale = unit switch
        {
            "" => 1L,
            "K" => 1L << 10,
            "M" => 1L << 20,
            "G" => 1L << 30,
            "T" => 1L << 40,
            _ => 0,
        };
        if (scale == 0 || !double.TryParse(text[..digits], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0)
            throw new RerankException(RerankErrorKind.InvalidInput, $"{what} \"{value}\" is not a size; write it as 4GB, 512MB or a number of bytes.");
        return (long)Math.Ceiling(number * scale);
    }

    /// <summary>
    /// What a model is counted as against <c>--max-memory</c>: its weight files (safetensors, or the ONNX file and its
    /// data), which the session maps or copies whole. The runtime's own per-session memory comes on top (docs/server.md).
    /// </summary>
    public static long WeightBytes(string folder) =>
        Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal) || f.EndsWith(".onnx", StringComparison.Ordinal) || f.EndsWith(".onnx_data", StringComparison.Ordinal))
            .Sum(f => (new FileInfo(f).ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? new FileInfo(f)).Length);

    /// <summary>
    /// The registry of <paramref name="specs"/>, each loaded as a <see cref="CrossEncoder"/> with <paramref name="baseOptions"/>
    /// and its own settings, counted against <paramref name="maxMemory"/> by its weight files unless it states its memory.
    /// Folders are resolved (hub ids taken from the cache or downloaded) before anything loads.
    /// </summary>
    public static async Task<RerankModelRegistry> BuildAsync(IReadOnlyList<ServedModelSpec> specs, CrossEncoderOptions baseOptions, long? maxMemory,
        Func<string, CancellationToken, Task<string>> resolve, Microsoft.Extensions.Logging.ILogger logger, CancellationToken cancellationToken)
    {
        var registry = new RerankModelRegistry(maxMemory, logger);
        foreach (var spec in specs)
        {
            var options = baseOptions with
            {
                Precision = spec.Precision ?? baseOptions.Precision,
                MaxLength = spec.MaxLength ?? baseOptions.MaxLength,
                BatchSize = spec.BatchSize ?? baseOptions.BatchSize,
                MaxBatchTokens = spec.MaxBatchTokens ?? baseOptions.MaxBatchTokens,
                Device = spec.Device ?? baseOptions.Device,
                Activation = spec.Activation ?? baseOptions.Activation,
                OnnxFile = spec.OnnxFile ?? baseOptions.OnnxFile,
            };
            string folder;
            try
            {
                folder = await resolve(spec.Source, cancellationToken);
            }
            catch (RerankException e)
            {
                // A model that cannot be found is reported as failed, and the others still serve.
                registry.Add(spec.Name, _ => Task.FromException<IReranker>(e), 0, Aliases(spec), spec.Defaults);
                continue;
            }
            var memory = spec.MemoryBytes ?? WeightBytes(folder);
            registry.Add(spec.Name, async ct => await CrossEncoder.LoadAsync(folder, options, ct), memory, Aliases(spec), spec.Defaults);
        }
        return registry;
    }

    // The folder or hub id also reaches the model, unless it is its name.
    private static IEnumerable<string> Aliases(ServedModelSpec spec) =>
        spec.Source.Equals(spec.Name, StringComparison.OrdinalIgnoreCase) ? [] : [spec.Source];

    /// <summary>The models file: <c>max_memory</c> and the <c>models</c> list.</summary>
    internal sealed class ModelsFile
    {
        public string? MaxMemory { get; set; }
        public List<ModelEntry>? Models { get; set; }
    }

    /// <summary>One entry: <c>model</c> (folder or hub id) and, optionally, its name and settings.</summary>
    internal sealed class ModelEntry
    {
        public string? Name { get; set; }
        public string? Model { get; set; }
        public string? Precision { get; set; }
        public int? MaxLength { get; set; }
        public int? BatchSize { get; set; }
        public int? MaxBatchTokens { get; set; }
        public string? Device { get; set; }
        public string? Activation { get; set; }
        public string? OnnxFile { get; set; }
        public string? Memory { get; set; }
        public string? Instruction { get; set; }
        public string? LongDocuments { get; set; }
        public int? ChunkStride { get; set; }
        public string? ChunkAggregation { get; set; }

        public ServedModelSpec ToSpec(string folder, string where)
        {
            if (string.IsNullOrWhiteSpace(Model))
                throw new RerankException(RerankErrorKind.InvalidInput, $"{where} has no \"model\"; give its folder or hub id.");
            // A relative folder is the file's neighbour; a hub id (org/name) that is not a folder there stays a hub id.
            var local = Path.Combine(folder, Model);
            var source = !Path.IsPathRooted(Model) && Directory.Exists(local) ? local : Model;
            return new ServedModelSpec(Name ?? NameOf(source), source)
            {
                Precision = Enum<Onnx.Precision>(Precision, "precision", where),
                MaxLength = MaxLength,
                BatchSize = BatchSize,
                MaxBatchTokens = MaxBatchTokens,
                Device = Enum<Inference.Device>(Device, "device", where),
                Activation = Enum<ActivationMode>(Activation, "activation", where),
                OnnxFile = OnnxFile,
                MemoryBytes = Memory is null ? null : ParseBytes(Memory, $"{where}: memory"),
                Defaults = new ServedModelDefaults
                {
                    Instruction = Instruction,
                    LongDocuments = Enum<LongDocumentMode>(LongDocuments, "long_documents", where),
                    ChunkStride = ChunkStride is < 0
                        ? throw new RerankException(RerankErrorKind.InvalidInput, $"{where}: chunk_stride {ChunkStride} must not be negative.")
                        : ChunkStride,
                    ChunkAggregation = Enum<WindowAggregation>(ChunkAggregation, "chunk_aggregation", where),
                },
            };
        }

        private static T? Enum<T>(string? value, string key, string where) where T : struct, System.Enum =>
            value is null ? null
            : System.Enum.TryParse<T>(value.Replace("_", ""), ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed) ? parsed
            : throw new RerankException(RerankErrorKind.InvalidInput,
                $"{where}: {key} \"{value}\" is not one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");
    }
}
