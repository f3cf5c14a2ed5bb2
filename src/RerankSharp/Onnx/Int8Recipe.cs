using System.Globalization;

namespace RerankSharp.Onnx;

/// <summary>How int8 treats the activations that enter a quantized weight matrix.</summary>
public enum Int8Activations
{
    /// <summary>One dynamic uint8 scale for the whole activation tensor (<c>DynamicQuantizeMatMul</c>): the fastest.</summary>
    PerTensor,

    /// <summary>One symmetric scale per token row (<c>MatMulInteger</c> plus row and column rescaling): an outlier token no longer coarsens every other token.</summary>
    PerRow,

    /// <summary>
    /// Not quantized: fp32 activations against weights rounded to int8 per block of 32 and turned back
    /// into float — what llama.cpp's q8_0 does to the weights. The accuracy yardstick, not a speed-up.
    /// </summary>
    WeightsOnlyBlock32,

    /// <summary>
    /// q8_0 as llama.cpp computes it: weights int8 per block of 32 (the yardstick's rounding) and activations quantized
    /// to int8 per block of 32 along the inner dimension when multiplied — ONNX Runtime's <c>MatMulNBits</c> with
    /// bits 8, block 32, <c>accuracy_level</c> 4. An outlier channel coarsens only the 31 channels of its block in its token.
    /// </summary>
    Block32,
}

/// <summary>
/// Which encoder matrices int8 quantizes and how. Parsed from and printed as a short text, e.g.
/// <c>per-row;fp32=output.dense;fp32-layers=0,23</c>, so a benchmark table row names its recipe.
/// </summary>
public sealed record Int8Recipe
{
    /// <summary>The default: per-tensor dynamic activations, every encoder matrix in int8.</summary>
    public static Int8Recipe Default { get; } = new();

    public Int8Activations Activations { get; init; } = Int8Activations.PerTensor;

    /// <summary>
    /// Module kinds kept in fp32 in every layer, by their Hugging Face names inside a layer: BERT and XLM-R's
    /// <c>attention.self.query</c>, <c>attention.self.key</c>, <c>attention.self.value</c>, <c>attention.output.dense</c>,
    /// <c>intermediate.dense</c>, <c>output.dense</c>; ModernBERT's <c>attn.Wqkv</c>, <c>attn.Wo</c>, <c>mlp.Wi</c>,
    /// <c>mlp.Wo</c>; jina-reranker-v2's <c>mixer.Wqkv</c>, <c>mixer.out_proj</c>, <c>mlp.fc1</c>, <c>mlp.fc2</c>; GTE's
    /// <c>attention.qkv_proj</c>, <c>attention.o_proj</c>, <c>mlp.up_gate_proj</c>, <c>mlp.down_proj</c>; DeBERTa's
    /// <c>attention.self.query_proj</c>, <c>attention.self.key_proj</c>, <c>attention.self.value_proj</c> and BERT's other three.
    /// A graph refuses a kind its architecture does not have.
    /// </summary>
    public IReadOnlyList<string> Fp32Modules { get; init; } = [];

    /// <summary>Encoder layers (0-based; negative counts from the end) kept entirely in fp32.</summary>
    public IReadOnlyList<int> Fp32Layers { get; init; } = [];

    /// <summary>
    /// SmoothQuant: a calibration file of per-channel activation maxima (<see cref="Int8Smoothing"/>); the inputs of the
    /// matrices it covers are divided per channel by s and the weights multiplied by it before quantization. Null: none.
    /// </summary>
    public string? SmoothingStatistics { get; init; }

    /// <summary>SmoothQuant's α, how much of the activations' range moves into the weights (0.5 in the paper for BERT-size models).</summary>
    public double SmoothingAlpha { get; init; } = 0.5;

    internal static readonly string[] ModuleKinds =
    [
        "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense",
        "attn.Wqkv", "attn.Wo", "mlp.Wi", "mlp.Wo",
        "mixer.Wqkv", "mixer.out_proj", "mlp.fc1", "mlp.fc2",
        "attention.qkv_proj", "attention.o_proj", "mlp.up_gate_proj", "mlp.down_proj",
        "attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
    ];

    internal bool KeepsFp32(int layer, int layerCount, string moduleKind) =>
        Fp32Modules.Contains(moduleKind, StringComparer.Ordinal)
        || Fp32Layers.Any(l => (l < 0 ? layerCount + l : l) == layer);

    public override string ToString()
    {
        var parts = new List<string>
        {
            Activations switch
            {
                Int8Activations.PerTensor => "per-tensor",
                Int8Activations.PerRow => "per-row",
                Int8Activations.Block32 => "q8_0",
                _ => "q8_0-weights",
            },
        };
        if (Fp32Modules.Count > 0) parts.Add("fp32=" + string.Join(',', Fp32Modules));
        if (Fp32Layers.Count > 0) parts.Add("fp32-layers=" + string.Join(',', Fp32Layers.Select(l => l.ToString(CultureInfo.InvariantCulture))));
        if (SmoothingStatistics is not null) parts.Add("smooth=" + SmoothingStatistics);
        if (SmoothingAlpha != 0.5) parts.Add("smooth-alpha=" + SmoothingAlpha.ToString(CultureInfo.InvariantCulture));
        return string.Join(';', parts);
    }

    /// <summary>Reads the text form of <see cref="ToString"/>; throws naming the part it does not understand.</summary>
    public static Int8Recipe Parse(string text)
    {
        var recipe = new Int8Recipe();
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part == "per-tensor") recipe = recipe with { Activations = Int8Activations.PerTensor };
            else if (part == "per-row") recipe = recipe with { Activations = Int8Activations.PerRow };
            else if (part == "q8_0-weights") recipe = recipe with { Activations = Int8Activations.WeightsOnlyBlock32 };
            else if (part == "q8_0") recipe = recipe with { Activations = Int8Activations.Block32 };
            else if (part.StartsWith("smooth=", StringComparison.Ordinal)) recipe = recipe with { SmoothingStatistics = part[7..] };
            else if (part.StartsWith("smooth-alpha=", StringComparison.Ordinal))
                recipe = recipe with
                {
                    SmoothingAlpha = double.TryParse(part[13..], NumberStyles.Float, CultureInfo.InvariantCulture, out var alpha) && alpha is >= 0 and <= 1
                        ? alpha : throw new RerankException(RerankErrorKind.InvalidInput, $"int8 recipe: smooth-alpha '{part[13..]}' is not a number from 0 to 1."),
                };
            else if (part.StartsWith("fp32=", StringComparison.Ordinal))
            {
                var kinds = part[5..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var unknown = kinds.FirstOrDefault(k => !ModuleKinds.Contains(k, StringComparer.Ordinal));
                if (unknown is not null)
                    throw new RerankException(RerankErrorKind.InvalidInput, $"int8 recipe: unknown module '{unknown}'; use one of {string.Join(", ", ModuleKinds)}.");
                recipe = recipe with { Fp32Modules = kinds };
            }
            else if (part.StartsWith("fp32-layers=", StringComparison.Ordinal))
            {
                var layers = new List<int>();
                foreach (var l in part[12..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    layers.Add(int.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                        ? n : throw new RerankException(RerankErrorKind.InvalidInput, $"int8 recipe: layer '{l}' is not a number."));
                recipe = recipe with { Fp32Layers = layers };
            }
            else
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"int8 recipe: '{part}' is not understood; use per-tensor | per-row | q8_0 | q8_0-weights, then optional fp32=MODULE,..., fp32-layers=N,..., smooth=ACTIVATION-MAXIMA.json and smooth-alpha=A");
        }
        return recipe;
    }

    // Records compare lists by reference; a recipe's meaning is its text.
    public bool Equals(Int8Recipe? other) => other is not null && ToString() == other.ToString();

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
