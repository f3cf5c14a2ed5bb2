namespace RerankSharp.Onnx;

/// <summary>Where an encoder layer normalizes: after each residual add (BERT, RoBERTa) or before each sub-block (ModernBERT).</summary>
internal enum NormPlacement
{
    /// <summary><c>LN(x + Attn(x))</c>, then <c>LN(x + MLP(x))</c>.</summary>
    Post,

    /// <summary><c>x + Attn(LN(x))</c>, then <c>x + MLP(LN(x))</c>.</summary>
    Pre,
}

/// <summary>Which half of a gated MLP's input projection goes through the activation; the other half multiplies it.</summary>
internal enum GatedHalf
{
    /// <summary>act(first) · second: ModernBERT's <c>Wi</c> = input ‖ gate, act(input) · gate.</summary>
    First,

    /// <summary>first · act(second): GTE's <c>up_gate_proj</c> = up ‖ gate, up · act(gate).</summary>
    Second,
}

/// <summary>
/// One architecture's encoder layer as its checkpoint names it: the Hugging Face module names inside layer
/// <c>{Prefix}.{i}</c>, the norm placement, the MLP's form and which modules carry biases. <see cref="EncoderLayer"/>
/// builds any such layer; the architecture files only describe theirs.
/// </summary>
internal sealed record EncoderLayerLayout
{
    /// <summary>The layers' common prefix: <c>roberta.encoder.layer</c>, <c>model.layers</c>.</summary>
    public required string Prefix { get; init; }

    public required NormPlacement Norms { get; init; }

    /// <summary>The attention module (its nodes' name): <c>attention.self</c>, <c>attn</c>.</summary>
    public required string Attention { get; init; }

    /// <summary>Query, key and value projections (three modules), or one merged projection (<c>attn.Wqkv</c>, [3H, H], q‖k‖v).</summary>
    public required IReadOnlyList<string> QueryKeyValue { get; init; }

    /// <summary>The attention's output projection: <c>attention.output.dense</c>, <c>attn.Wo</c>.</summary>
    public required string AttentionOutput { get; init; }

    /// <summary>The LayerNorm of the attention sub-block: after its residual (post) or before it (pre).</summary>
    public required string AttentionNorm { get; init; }

    /// <summary>Pre-LN only: layer 0 has no attention norm (ModernBERT's <c>attn_norm</c> is <c>nn.Identity</c> there).</summary>
    public bool FirstLayerHasNoAttentionNorm { get; init; }

    /// <summary>The MLP's input projection: <c>intermediate.dense</c> ([I, H]) or, gated, <c>mlp.Wi</c> ([2I, H], input‖gate).</summary>
    public required string MlpInput { get; init; }

    /// <summary>The MLP's output projection: <c>output.dense</c>, <c>mlp.Wo</c>.</summary>
    public required string MlpOutput { get; init; }

    /// <summary>The LayerNorm of the MLP sub-block.</summary>
    public required string MlpNorm { get; init; }

    /// <summary>The MLP activation's module path (its nodes' name): <c>intermediate.intermediate_act_fn</c>, <c>mlp.act</c>.</summary>
    public required string MlpActivation { get; init; }

    /// <summary>GLU: the input projection yields two halves, one activated (<see cref="ActivatedHalf"/>) and multiplied by the other.</summary>
    public bool GatedMlp { get; init; }

    /// <summary>Gated MLP only: the half of the input projection the activation applies to.</summary>
    public GatedHalf ActivatedHalf { get; init; } = GatedHalf.First;

    /// <summary>transformers' ACT2FN name of the MLP activation: <c>gelu</c> (exact erf), <c>gelu_pytorch_tanh</c>, <c>silu</c>.</summary>
    public required string Activation { get; init; }

    public bool AttentionBias { get; init; } = true;

    /// <summary>Whether the MLP's output projection has a bias, and its input projection unless <see cref="MlpInputBias"/> says otherwise.</summary>
    public bool MlpBias { get; init; } = true;

    /// <summary>Whether the MLP's input projection has a bias: <see cref="MlpBias"/> unless set (GTE's <c>up_gate_proj</c> has none, its <c>down_proj</c> has one).</summary>
    public bool MlpInputBias
    {
        get => _mlpInputBias ?? MlpBias;
        init => _mlpInputBias = value;
    }

    private readonly bool? _mlpInputBias;

    public bool NormBias { get; init; } = true;

    public required int Hidden { get; init; }

    public required int Heads { get; init; }

    public required int Intermediate { get; init; }

    public required double NormEps { get; init; }

    public required int LayerCount { get; init; }

    /// <summary>ACT2FN names <see cref="EncoderLayer"/> computes.</summary>
    public static readonly IReadOnlyList<string> Activations = ["gelu", "gelu_pytorch_tanh", "silu"];

    public int HeadDim => Hidden / Heads;

    /// <summary>The module path of <paramref name="module"/> in layer <paramref name="layer"/>.</summary>
    public string Module(int layer, string module) => $"{Prefix}.{layer}.{module}";

    /// <summary>The module kinds whose weight matrices int8 quantizes (and an <see cref="Int8Recipe"/> may keep in fp32).</summary>
    public IEnumerable<string> MatrixModules => [.. QueryKeyValue, AttentionOutput, MlpInput, MlpOutput];

    /// <summary>The weight matrices of every layer: what int8 quantizes.</summary>
    public IReadOnlyList<string> Matrices() =>
        Enumerable.Range(0, LayerCount).SelectMany(layer => MatrixModules.Select(m => $"{Module(layer, m)}.weight")).ToList();

    public bool HasAttentionNorm(int layer) => !(FirstLayerHasNoAttentionNorm && layer == 0);

    /// <summary>The layers' modules as the checkpoint names them, for messages: <c>roberta.encoder.layers.{i}.{mixer.Wqkv, …, norm2}</c>.</summary>
    public string Describe() =>
        $"{Prefix}.{{i}}.{{{string.Join(", ", QueryKeyValue.Concat([AttentionOutput, AttentionNorm, MlpInput, MlpOutput, MlpNorm]))}}}";

    /// <summary>Every tensor of the layers, with its shape.</summary>
    public IEnumerable<(string Name, long[] Shape)> Tensors()
    {
        long h = Hidden, i = Intermediate;
        for (var layer = 0; layer < LayerCount; layer++)
        {
            foreach (var module in QueryKeyValue)
            {
                long rows = QueryKeyValue.Count == 1 ? 3 * h : h;
                yield return ($"{Module(layer, module)}.weight", [rows, h]);
                if (AttentionBias) yield return ($"{Module(layer, module)}.bias", [rows]);
            }
            foreach (var tensor in Linear(layer, AttentionOutput, h, h, AttentionBias)) yield return tensor;
            if (HasAttentionNorm(layer))
                foreach (var tensor in Norm(layer, AttentionNorm)) yield return tensor;
            foreach (var tensor in Linear(layer, MlpInput, GatedMlp ? 2 * i : i, h, MlpInputBias)) yield return tensor;
            foreach (var tensor in Linear(layer, MlpOutput, h, i, MlpBias)) yield return tensor;
            foreach (var tensor in Norm(layer, MlpNorm)) yield return tensor;
        }
    }

    private IEnumerable<(string, long[])> Linear(int layer, string module, long rows, long columns, bool bias)
    {
        yield return ($"{Module(layer, module)}.weight", [rows, columns]);
        if (bias) yield return ($"{Module(layer, module)}.bias", [rows]);
    }

    private IEnumerable<(string, long[])> Norm(int layer, string module)
    {
        yield return ($"{Module(layer, module)}.weight", [Hidden]);
        if (NormBias) yield return ($"{Module(layer, module)}.bias", [Hidden]);
    }
}
