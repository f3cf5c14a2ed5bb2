using System.Text;
using System.Text.RegularExpressions;

namespace RerankSharp.Models;

/// <summary>
/// Which files of a hub repository to fetch. By default only what <see cref="ModelFolder"/> reads:
/// configs (sentence-transformers' too), tokenizer files and the safetensors weights at the top of the repository — so not
/// <c>onnx/</c>, <c>pytorch_model.bin</c>, images or READMEs, which for bge-reranker-v2-m3 would
/// more than double the download.
/// </summary>
public static class HubFileSelection
{
    private static readonly HashSet<string> InferenceFiles = new(StringComparer.Ordinal)
    {
        ModelFolder.ConfigFileName,
        ModelFolder.SentencePieceFileName,
        ModelFolder.TokenizerJsonFileName,
        ModelFolder.TokenizerConfigFileName,
        ModelFolder.WordPieceVocabFileName,
        ModelFolder.BpeVocabFileName,
        ModelFolder.BpeMergesFileName,
        "special_tokens_map.json",
        SentenceTransformersConfig.ConfigFileName,
        SentenceTransformersConfig.ModulesFileName,
        SentenceTransformersConfig.TransformerConfigFileName,
    };

    // The config of a sentence-transformers module after the first, saved as "{idx}_{class name}/config.json"
    // (1_LogitScore/config.json); which modules a folder has is known only once modules.json is read.
    private static readonly Regex ModuleConfig = new(@"^[0-9]+_[A-Za-z0-9_]+/config\.json$", RegexOptions.CultureInvariant);

    private const string OnnxExport = "onnx/model.onnx";

    /// <summary>
    /// The files of <paramref name="repositoryFiles"/> to download: those matching
    /// <paramref name="include"/> when given, else the inference set.
    /// </summary>
    /// <exception cref="RerankException">The inference set has no safetensors weights, or no file matches <paramref name="include"/>; thrown before anything is downloaded.</exception>
    public static IReadOnlyList<string> Select(IReadOnlyList<string> repositoryFiles, IReadOnlyList<string>? include, string repoId)
    {
        ArgumentNullException.ThrowIfNull(repositoryFiles);
        if (include is { Count: > 0 })
        {
            var patterns = include.Select(Glob).ToArray();
            var matched = repositoryFiles.Where(f => patterns.Any(p => p.IsMatch(f))).ToArray();
            if (matched.Length == 0)
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"No file of {repoId} matches {string.Join(" or ", include.Select(p => $"'{p}'"))}; its files are {Sample(repositoryFiles)}.");
            return matched;
        }

        var selected = repositoryFiles.Where(f => InferenceFiles.Contains(f) || ModuleConfig.IsMatch(f)).ToList();
        // transformers prefers the single file when both forms are present (ModelFolder does too);
        // a repository may also hold variants such as model.fp16.safetensors, which nothing reads.
        if (repositoryFiles.Contains(ModelFolder.WeightsFileName))
            selected.Add(ModelFolder.WeightsFileName);
        else if (repositoryFiles.Contains(ModelFolder.WeightIndexFileName))
        {
            selected.Add(ModelFolder.WeightIndexFileName);
            selected.AddRange(repositoryFiles.Where(IsShard));
        }
        else if (repositoryFiles.Contains(OnnxExport))
        {
            // An ONNX-only repo: its fp32 export and that file's external data, if split out; other variants
            // (model_quantized.onnx, …) come with Include patterns.
            selected.AddRange(repositoryFiles.Where(f => f == OnnxExport || f.StartsWith(OnnxExport + "_data", StringComparison.Ordinal)));
        }
        else
        {
            var pytorch = repositoryFiles.Any(f => f.StartsWith("pytorch_model", StringComparison.Ordinal));
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"{repoId} has no safetensors weights ({ModelFolder.WeightsFileName} or {ModelFolder.WeightIndexFileName}){(pytorch ? ", only PyTorch ones" : "")}; "
                + "RerankSharp reads safetensors only. Pick a repository that publishes them, or convert a local copy with transformers' save_pretrained and pass that folder.");
        }
        return selected.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    // The index may name its shards anything (save_pretrained writes model-00001-of-00002.safetensors),
    // so every top-level safetensors file goes with it.
    private static bool IsShard(string file) => !file.Contains('/') && file.EndsWith(".safetensors", StringComparison.Ordinal);

    /// <summary>
    /// A glob as Python's fnmatch reads it (what huggingface_hub's allow_patterns use): <c>*</c> is
    /// any run of characters, <c>/</c> included; <c>?</c> is one character.
    /// </summary>
    internal static Regex Glob(string pattern)
    {
        var regex = new StringBuilder("^");
        foreach (var c in pattern)
            regex.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        // A pattern naming a folder ("onnx/") means everything in it, as in huggingface_hub.
        if (pattern.EndsWith('/')) regex.Append(".*");
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    private static string Sample(IReadOnlyList<string> files) =>
        files.Count <= 8 ? string.Join(", ", files) : $"{string.Join(", ", files.Take(8))} and {files.Count - 8} more";
}
