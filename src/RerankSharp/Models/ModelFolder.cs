namespace RerankSharp.Models;

/// <summary>
/// A model folder as published on the Hugging Face hub (or a snapshot in its cache): config.json,
/// safetensors weights, and a tokenizer. <see cref="Open"/> checks that the files are there and
/// parses the configs; the weights are mapped later by <see cref="SafetensorsStore.Open(ModelFolder)"/>.
/// </summary>
public sealed class ModelFolder
{
    public const string ConfigFileName = "config.json";
    public const string WeightsFileName = "model.safetensors";
    public const string WeightIndexFileName = SafetensorsIndex.FileName;
    public const string SentencePieceFileName = "sentencepiece.bpe.model";
    public const string TokenizerJsonFileName = "tokenizer.json";
    public const string TokenizerConfigFileName = "tokenizer_config.json";
    public const string WordPieceVocabFileName = "vocab.txt";
    public const string BpeVocabFileName = "vocab.json";
    public const string BpeMergesFileName = "merges.txt";

    /// <summary>The advice that ends every "not found" message.</summary>
    internal const string WhatToPass =
        "Pass a folder that holds config.json and model.safetensors (as published on the Hugging Face hub), or a hub id.";

    private static readonly string[] PyTorchWeightFileNames = ["pytorch_model.bin", "pytorch_model.bin.index.json"];

    private ModelFolder(string directory, ModelConfig config, TokenizerConfig? tokenizerConfig,
        string? sentencePieceModelPath, string? tokenizerJsonPath, string? tokenizerConfigPath,
        IReadOnlyList<string> weightFiles, string? weightIndexPath, SentenceTransformersConfig sentenceTransformers)
    {
        Directory = directory;
        ConfigPath = Path.Combine(directory, ConfigFileName);
        Config = config;
        SentenceTransformers = sentenceTransformers;
        TokenizerConfig = tokenizerConfig;
        TokenizerConfigPath = tokenizerConfigPath;
        SentencePieceModelPath = sentencePieceModelPath;
        TokenizerJsonPath = tokenizerJsonPath;
        WeightFiles = weightFiles;
        WeightIndexPath = weightIndexPath;
        DefaultMaxLength = ComputeDefaultMaxLength(config, tokenizerConfig);
    }

    /// <summary>The folder, as a full path.</summary>
    public string Directory { get; }

    public string ConfigPath { get; }

    public ModelConfig Config { get; }

    /// <summary>What the folder declares to sentence-transformers' CrossEncoder: the activation of <c>predict</c>, the modules of the modular layout.</summary>
    public SentenceTransformersConfig SentenceTransformers { get; }

    /// <summary>tokenizer_config.json, which is optional.</summary>
    public TokenizerConfig? TokenizerConfig { get; }

    public string? TokenizerConfigPath { get; }

    /// <summary>The SentencePiece model (XLM-R's slow tokenizer), if the folder has one.</summary>
    public string? SentencePieceModelPath { get; }

    /// <summary>The Hugging Face fast tokenizer file, if the folder has one.</summary>
    public string? TokenizerJsonPath { get; }

    /// <summary>BERT's <c>vocab.txt</c> (the slow WordPiece tokenizer), if the folder has one.</summary>
    public string? WordPieceVocabPath => ExistingFile(Directory, WordPieceVocabFileName);

    /// <summary>The byte-level BPE <c>vocab.json</c> (with <see cref="BpeMergesPath"/>), if the folder has one.</summary>
    public string? BpeVocabPath => ExistingFile(Directory, BpeVocabFileName);

    /// <summary>The byte-level BPE <c>merges.txt</c>, if the folder has one.</summary>
    public string? BpeMergesPath => ExistingFile(Directory, BpeMergesFileName);

    /// <summary>
    /// The ONNX graphs the folder ships (as hub repos do under <c>onnx/</c>: <c>model.onnx</c>, <c>model_quantized.onnx</c>, …),
    /// relative to the folder with '/' separators, in ordinal order; top-level <c>*.onnx</c> files too.
    /// </summary>
    public IReadOnlyList<string> OnnxFiles => FindOnnxFiles(Directory);

    /// <summary>Whether the folder has no safetensors weights and runs from one of <see cref="OnnxFiles"/>.</summary>
    public bool IsOnnxOnly => WeightFiles.Count == 0;

    /// <summary>model.safetensors, or the shards named by <see cref="WeightIndexPath"/> in ordinal order.</summary>
    public IReadOnlyList<string> WeightFiles { get; }

    /// <summary>
    /// The folder that holds the weight files once links are followed: the model folder itself, or
    /// for a hub-cache snapshot (whose files link to <c>../../blobs/</c>) the blobs folder. ONNX
    /// Runtime reads external data only from inside the folder it is given, after resolving links.
    /// </summary>
    public string WeightsDirectory => IsOnnxOnly ? Directory : CommonDirectory(WeightFiles.Select(f => LinkedFile.Find(f)?.FullName ?? f));

    /// <summary>model.safetensors.index.json when the weights are sharded; null for a single file.</summary>
    public string? WeightIndexPath { get; }

    /// <summary>
    /// The input length the tokenizer truncates to unless told otherwise: tokenizer_config's
    /// <c>model_max_length</c>, else <c>max_position_embeddings - 2</c>; and never more than the
    /// position table holds, <c>max_position_embeddings - pad_token_id - 1</c>, because XLM-R
    /// numbers positions from <c>pad_token_id + 1</c>. For bge-reranker-v2-m3: 8192.
    /// </summary>
    public int DefaultMaxLength { get; }

    /// <summary>Finds and checks the files of the model in <paramref name="directory"/>.</summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.ModelNotFound"/> if the folder, config.json, the weights (or a shard)
    /// or the tokenizer is missing, or if the weights are only in PyTorch format;
    /// <see cref="RerankErrorKind.InvalidModel"/> if config.json, tokenizer_config.json, the shard
    /// index or a sentence-transformers file (<see cref="SentenceTransformersConfig"/>) is malformed.
    /// </exception>
    public static ModelFolder Open(string directory)
    {
        if (string.IsNullOrWhiteSpace(directory))
            throw new RerankException(RerankErrorKind.ModelNotFound, $"Model path is empty. {WhatToPass}");

        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (File.Exists(full))
            throw new RerankException(RerankErrorKind.ModelNotFound, IsModelFileName(Path.GetFileName(full))
                ? $"Model path {full} is a file, not a folder. Pass the folder that holds it: {Path.GetDirectoryName(full)}."
                : $"Model path {full} is a file, not a folder. {WhatToPass}");
        if (!System.IO.Directory.Exists(full))
            throw new RerankException(RerankErrorKind.ModelNotFound, $"Model folder not found: {full} does not exist. {WhatToPass}");

        string configPath = Path.Combine(full, ConfigFileName);
        if (!LinkedFile.Exists(configPath))
        {
            // The hub cache keeps a model under models--org--name/snapshots/<revision>/; its root is
            // what people often pass by mistake.
            if (System.IO.Directory.Exists(Path.Combine(full, "snapshots")))
                throw new RerankException(RerankErrorKind.ModelNotFound,
                    $"Model config not found: {full} has no config.json but looks like a Hugging Face cache folder. Pass one of its snapshots/<revision> folders, or the hub id.");
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"Model config not found: {full} has no config.json. {WhatToPass}");
        }

        (IReadOnlyList<string> weightFiles, string? indexPath) = FindWeights(full);

        string? sentencePiece = ExistingFile(full, SentencePieceFileName);
        string? tokenizerJson = ExistingFile(full, TokenizerJsonFileName);
        bool noTokenizer = sentencePiece is null && tokenizerJson is null && ExistingFile(full, WordPieceVocabFileName) is null
            && (ExistingFile(full, BpeVocabFileName) is null || ExistingFile(full, BpeMergesFileName) is null);
        // DeBERTa-v2/v3's slow-tokenizer file: transformers converts it to the fast tokenizer at load (DebertaV2Converter);
        // RerankSharp does not, and reads the tokenizer.json such a conversion writes.
        if (noTokenizer && ExistingFile(full, "spm.model") is not null)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{full} has spm.model but no tokenizer.json; RerankSharp reads DeBERTa tokenizers from tokenizer.json only. Supply the model's "
                + "tokenizer.json (mxbai-rerank-v1 ships one), or write one with transformers: AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR).");
        if (noTokenizer)
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"Tokenizer not found: {full} has neither {SentencePieceFileName} nor {TokenizerJsonFileName}. {WhatToPass} "
                + $"(A BERT model may hold {WordPieceVocabFileName} instead, a byte-level BPE model {BpeVocabFileName} with {BpeMergesFileName}.)");

        ModelConfig config = ModelConfig.Load(configPath);
        string? tokenizerConfigPath = ExistingFile(full, TokenizerConfigFileName);
        TokenizerConfig? tokenizerConfig = tokenizerConfigPath is null ? null : TokenizerConfig.Load(tokenizerConfigPath);

        var sentenceTransformers = SentenceTransformersConfig.Load(full, config, configPath);

        return new ModelFolder(full, config, tokenizerConfig, sentencePiece, tokenizerJson, tokenizerConfigPath, weightFiles, indexPath, sentenceTransformers);
    }

    /// <summary>
    /// What the folder holds, for <c>rerank info</c>: its files with sizes, and from the weights the
    /// tensor and parameter counts by dtype. Maps the weights briefly (headers only are read).
    /// </summary>
    public ModelSummary Summarize()
    {
        if (IsOnnxOnly)
            return new ModelSummary(Directory, Config, DefaultMaxLength, ListFiles(), ListFiles().Sum(file => file.Bytes), 0, 0, 0, [], SentenceTransformers);
        using SafetensorsStore weights = SafetensorsStore.Open(this);
        return Summarize(weights);
    }

    /// <summary>As <see cref="Summarize()"/>, over weights already mapped.</summary>
    public ModelSummary Summarize(SafetensorsStore weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        // Sizes are those of link targets, so a hub-cache snapshot (links into ../../blobs) reports
        // real sizes; a dangling link holds no file and is left out.
        ModelFileSummary[] files = ListFiles();
        TensorDTypeSummary[] dtypes = weights.Tensors.Values
            .GroupBy(entry => entry.DType)
            .OrderBy(group => group.Key)
            .Select(group => new TensorDTypeSummary(group.Key, group.Count(),
                group.Sum(entry => entry.ElementCount), group.Sum(entry => entry.ByteLength)))
            .ToArray();
        return new ModelSummary(Directory, Config, DefaultMaxLength, files, files.Sum(file => file.Bytes),
            weights.Tensors.Count, weights.ParameterCount, weights.TotalBytes, dtypes, SentenceTransformers);
    }

    private ModelFileSummary[] ListFiles() =>
        new DirectoryInfo(Directory).EnumerateFiles()
            .Select(file => (file.Name, Target: LinkedFile.Find(file.FullName)))
            .Where(file => file.Target is not null)
            .Select(file => new ModelFileSummary(file.Name, file.Target!.Length))
            .Concat(OnnxFiles.Where(f => f.Contains('/')).Select(f => new ModelFileSummary(f, LinkedFile.Find(Path.Combine(Directory, f))?.Length ?? 0)))
            .OrderBy(file => file.Name, StringComparer.Ordinal)
            .ToArray();

    private static string[] FindOnnxFiles(string directory)
    {
        IEnumerable<string> In(string sub) =>
            System.IO.Directory.Exists(Path.Combine(directory, sub))
                ? System.IO.Directory.EnumerateFiles(Path.Combine(directory, sub), "*.onnx")
                    .Where(f => LinkedFile.Exists(f))
                    .Select(f => sub.Length == 0 ? Path.GetFileName(f) : $"{sub}/{Path.GetFileName(f)}")
                : [];
        return In("").Concat(In("onnx")).Order(StringComparer.Ordinal).ToArray();
    }

    internal static RerankException ShardMissing(IReadOnlyList<string> shards, string directory) =>
        new(RerankErrorKind.ModelNotFound,
            $"{JoinNames(shards)} not found in {directory}; the download looks incomplete; re-download {(shards.Count == 1 ? "it" : "them")}.");

    internal static RerankException ShardMissing(string shard, string directory) => ShardMissing([shard], directory);

    private static (IReadOnlyList<string> Files, string? IndexPath) FindWeights(string directory)
    {
        // transformers prefers the single file when both forms are present; so do we.
        if (ExistingFile(directory, WeightsFileName) is { } single)
            return ([single], null);

        if (ExistingFile(directory, WeightIndexFileName) is { } indexPath)
        {
            SafetensorsIndex index = SafetensorsIndex.Load(indexPath);
            string[] missing = index.ShardNames.Where(shard => !LinkedFile.Exists(Path.Combine(directory, shard))).ToArray();
            if (missing.Length > 0)
                throw ShardMissing(missing, directory);
            return (index.ShardNames.Select(shard => Path.Combine(directory, shard)).ToArray(), indexPath);
        }

        // A hub repo that publishes only ONNX exports (onnx/model.onnx and its quantized variants) runs from those.
        if (FindOnnxFiles(directory).Length > 0)
            return ([], null);

        if (PyTorchWeightFileNames.FirstOrDefault(name => LinkedFile.Exists(Path.Combine(directory, name))) is { } pytorch)
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"Model weights in {directory} are only in PyTorch format ({pytorch}); RerankSharp requires safetensors (model.safetensors). "
                + "Download model.safetensors from the Hugging Face hub, or convert once in Python: "
                + $"AutoModelForSequenceClassification.from_pretrained(\"{directory}\").save_pretrained(\"{directory}\").");

        throw new RerankException(RerankErrorKind.ModelNotFound,
            $"Model weights not found: {directory} has no {WeightsFileName} or {WeightIndexFileName}. {WhatToPass}");
    }

    private static string CommonDirectory(IEnumerable<string> files)
    {
        string? common = null;
        foreach (string file in files)
        {
            string directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
            if (common is null) { common = directory; continue; }
            while (!IsWithin(directory, common))
                common = Path.GetDirectoryName(common) ?? Path.GetPathRoot(common)!;
        }
        return common ?? throw new RerankException(RerankErrorKind.Internal, "A model folder without weight files was opened. This is a bug.");
    }

    private static bool IsWithin(string path, string directory) =>
        path == directory || path.StartsWith(
            directory.EndsWith(Path.DirectorySeparatorChar) ? directory : directory + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static int ComputeDefaultMaxLength(ModelConfig config, TokenizerConfig? tokenizerConfig)
    {
        // Positions run from PositionOffset (pad_token_id + 1 for XLM-R, 0 for BERT) and must index the table.
        int positionsAvailable = config.MaxPositionEmbeddings - config.PositionOffset;
        int wanted = tokenizerConfig?.ModelMaxLength ?? (config.PositionOffset > 0 ? config.MaxPositionEmbeddings - 2 : config.MaxPositionEmbeddings);
        return Math.Max(1, Math.Min(wanted, positionsAvailable));
    }

    /// <summary>The path of <paramref name="name"/> in <paramref name="directory"/> if it exists, through links.</summary>
    private static string? ExistingFile(string directory, string name)
    {
        string path = Path.Combine(directory, name);
        return LinkedFile.Exists(path) ? path : null;
    }

    private static bool IsModelFileName(string name) =>
        name is ConfigFileName or WeightsFileName or WeightIndexFileName or SentencePieceFileName
            or TokenizerJsonFileName or TokenizerConfigFileName
        || name.EndsWith(".safetensors", StringComparison.Ordinal);

    private static string JoinNames(IReadOnlyList<string> names) => names.Count switch
    {
        1 => names[0],
        2 => $"{names[0]} and {names[1]}",
        _ => $"{string.Join(", ", names.Take(names.Count - 1))} and {names[^1]}",
    };
}
