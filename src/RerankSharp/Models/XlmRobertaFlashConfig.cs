using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// The keys of jina-reranker-v2's <c>config.json</c> beyond <see cref="ModelConfig"/>'s that change what its own modeling
/// code builds, named as the file names them, with the defaults of that code (<c>XLMRobertaFlashConfig</c> and the
/// <c>getattr</c> defaults of <c>modeling_xlm_roberta.py</c>, jina-reranker-v2-base-multilingual as mirrored in
/// shreyansh26/Accelerating-Cross-Encoder-Inference @8f2b5173).
/// </summary>
internal sealed record XlmRobertaFlashConfig
{
    private const string FixIt = "fix config.json or re-download the model from the Hugging Face hub";

    /// <summary><c>use_flash_attn</c>: flash-attention kernels on CUDA (fp16/bf16 only), the same scores as the padded path.</summary>
    public bool UseFlashAttn { get; init; } = true;

    /// <summary><c>last_layer_subset</c>: the last layer becomes a cross-attention with <c>mixer.Wq</c> and <c>mixer.Wkv</c>.</summary>
    public bool LastLayerSubset { get; init; }

    /// <summary><c>pad_vocab_size_multiple</c>: the word table grows to a multiple of it.</summary>
    public int PadVocabSizeMultiple { get; init; } = 1;

    /// <summary>Reads the keys of <paramref name="path"/>.</summary>
    /// <exception cref="RerankException">InvalidModel for a value of the wrong type.</exception>
    public static XlmRobertaFlashConfig Load(string path)
    {
        using JsonDocument document = JsonFile.Read(path, FixIt);
        var json = JsonObjectReader.Root(document, path, FixIt);
        return new XlmRobertaFlashConfig
        {
            UseFlashAttn = json.OptionalBool("use_flash_attn") ?? true,
            LastLayerSubset = json.OptionalBool("last_layer_subset") ?? false,
            PadVocabSizeMultiple = json.OptionalInt("pad_vocab_size_multiple", min: 1) ?? 1,
        };
    }
}
