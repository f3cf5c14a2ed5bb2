// The encoder layer every encoder architecture shares, built from its EncoderLayerLayout. Node names are the
// layout's module paths (roberta.encoder.layer.3.attention.self, model.layers.2.mlp.Wi), initializers the checkpoint's
// tensor names, so an error or a profile points back to one module of the checkpoint.
//
// Dimension letters: B batch, T tokens, H hidden size, N heads, D head size (H/N), I intermediate size.
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>What a layer's attention needs besides its input: the rotary tables of its kind of layer, and its window if local.</summary>
/// <param name="Cos">cos of the rotary angles, [T, D/2] (<see cref="RotaryEmbedding.HalfTables(OnnxGraphBuilder, string, string, IReadOnlyList{double}, string)"/>), or null for an architecture without rotary positions.</param>
/// <param name="Sin">sin of the rotary angles, [T, D/2].</param>
/// <param name="HalfWindow">A local (sliding-window) layer's W: query i sees key j when |i − j| ≤ W; null for global attention.</param>
internal sealed record LayerAttention(string? Cos, string? Sin, int? HalfWindow)
{
    /// <summary>
    /// An additive bias on the scaled attention scores, made from the layer's projected q and k ([B, T, H] each, biases
    /// added, in the compute type) and returned as [B, N, T, T] in the compute type: DeBERTa's disentangled c2p and p2c
    /// terms. Null: none.
    /// </summary>
    public Func<string, string, string>? ScoreBias { get; init; }

    /// <summary>The factor on q·kᵀ; null is 1/√D (DeBERTa's is 1/√(D·scale_factor)).</summary>
    public double? Scale { get; init; }
}

/// <summary>The attention masks an encoder's layers share, made once from the int64 [B, T] <c>attention_mask</c>.</summary>
internal sealed class EncoderMasks
{
    internal EncoderMasks(string module, string attentionMask) => (Module, AttentionMask) = (module, attentionMask);

    public string Module { get; }

    /// <summary>int64 [B, T], 1 on real tokens.</summary>
    public string AttentionMask { get; }

    /// <summary>Fused form: int32 [B, T], MultiHeadAttention's key padding mask.</summary>
    public string? KeyPadding { get; init; }

    /// <summary>Fused fp32/int8: bool [], true when no row is padded.</summary>
    public string? Unpadded { get; init; }

    /// <summary>Plain form: float [B, 1, 1, T], 0 on real keys and float.MinValue on padding, as transformers extends the mask.</summary>
    public string? Additive { get; init; }

    /// <summary>Values made on first use and shared by the layers (band masks, the long-input condition), by name.</summary>
    internal Dictionary<string, string> Shared { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Builds encoder layers of one graph from an <see cref="EncoderLayerLayout"/>: post- or pre-LayerNorm, three or one
/// merged QKV projection, a plain or gated MLP, rotary positions and sliding windows when the layer has them. What is
/// chosen per graph: the form (fused contrib operators or plain ONNX), the precision of the projections
/// (<see cref="EncoderProjection"/>: fp32, fp16 or an int8 recipe), and the attention form, which follows from them.
/// </summary>
internal sealed class EncoderLayer
{
    /// <summary>
    /// Local layers at or below this many half windows run MultiHeadAttention with a band bias (one fused kernel over
    /// [T, T] scores); above it, <see cref="SlidingWindowAttention"/>'s blocks (3W keys per query instead of T). Settable
    /// only so that rerank-bench can measure the two forms against each other (<c>--dense-band-max</c>); graphs built
    /// afterwards take the value.
    /// </summary>
    internal static int DenseBandMaxHalfWindows { get; set; } = 8;

    private readonly OnnxGraphBuilder _g;
    private readonly CheckpointTensors _tensors;
    private readonly EncoderLayerLayout _l;
    private readonly GraphForm _form;
    private readonly EncoderProjection _projection;
    private readonly bool _flashWhenUnpadded;

    public EncoderLayer(OnnxGraphBuilder graph, CheckpointTensors tensors, EncoderLayerLayout layout, GraphForm form, EncoderProjection projection)
    {
        CheckForm(form, projection.Precision);
        _g = graph;
        _tensors = tensors;
        _l = layout;
        _form = form;
        _projection = projection;
        // ONNX Runtime's CPU MultiHeadAttention runs its flash kernel (memory linear in T, tiles in L2) only without a key
        // padding mask; with one it materialises the [B, N, T, T] scores, 4 GiB at 8192 tokens. So an If picks the
        // mask-free node whenever no row is padded, which covers every single long input; padded batches keep the mask
        // (and BatchQueue bounds their B × T²). fp16 is for CUDA, whose kernels need no such choice: one masked node.
        _flashWhenUnpadded = form == GraphForm.Fused && projection.Precision != Precision.Fp16;
        foreach (var kind in projection.Recipe.Fp32Modules)
            if (!layout.MatrixModules.Contains(kind, StringComparer.Ordinal))
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"int8 recipe: this architecture has no module '{kind}'; its matrices are {string.Join(", ", layout.MatrixModules)}.");
    }

    /// <summary>Throws when <paramref name="precision"/> cannot run in <paramref name="form"/>.</summary>
    public static void CheckForm(GraphForm form, Precision precision)
    {
        if (form == GraphForm.Fused) return;
        if (precision == Precision.Int8)
            throw new RerankException(RerankErrorKind.InvalidInput,
                "int8 runs only on the fused graph form (its integer GEMMs are ONNX Runtime operators); use the fused form or fp32.");
        if (precision == Precision.Fp16)
            throw new RerankException(RerankErrorKind.InvalidInput,
                "fp16 runs only on the fused graph form (its float16 attention is ONNX Runtime's MultiHeadAttention); use the fused form, or fp32 for the plain form.");
    }

    /// <summary>The masks the layers read, named under <paramref name="module"/> (<c>roberta.encoder</c>).</summary>
    public EncoderMasks Masks(string module, string attentionMask)
    {
        if (_form == GraphForm.Plain)
            return new EncoderMasks(module, attentionMask) { Additive = _tensors.AdditiveMask($"{module}.extended_attention_mask", attentionMask) };
        string? unpadded = null;
        if (_flashWhenUnpadded)
        {
            // True when no row is padded (every batch of one row, and batches of equal lengths).
            var smallest = _g.Node("ReduceMin", $"{module}.unpadded/min", [attentionMask], attributes: [OnnxGraphBuilder.Int("keepdims", 0)]);
            unpadded = _g.Node("Equal", $"{module}.unpadded", [smallest, _g.AddConstant($"{module}.unpadded/one", [], 1L)]);   // [] bool
        }
        return new EncoderMasks(module, attentionMask)
        {
            KeyPadding = _g.Node("Cast", $"{module}.key_padding_mask", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Int32)]), // [B, T] int32
            Unpadded = unpadded,
        };
    }

    /// <summary>Layer <paramref name="layer"/> over <paramref name="hidden"/> (float32 [B, T, H]); returns its output, float32 [B, T, H].</summary>
    public string Build(int layer, string hidden, EncoderMasks masks, LayerAttention? attention = null)
    {
        string M(string module) => _l.Module(layer, module);
        var pre = _l.Norms == NormPlacement.Pre;

        // Attention sub-block.
        var normed = pre && _l.HasAttentionNorm(layer) ? LayerNorm(M(_l.AttentionNorm), hidden) : hidden;
        var context = _form == GraphForm.Fused
            ? FusedAttention(layer, _projection.ToCompute($"{_l.Prefix}.{layer}/input", normed), masks, attention)
            : PlainAttention(layer, normed, masks, attention);                                                     // [B, T, H]
        var attended = _projection.ToFloat32(M(_l.AttentionOutput), Project(layer, _l.AttentionOutput, context));
        hidden = Residual(layer, _l.AttentionOutput, _l.AttentionNorm, _l.AttentionBias, attended, hidden);

        // MLP sub-block.
        normed = pre ? LayerNorm(M(_l.MlpNorm), hidden) : hidden;
        var activated = Mlp(layer, _projection.ToCompute($"{M(_l.MlpInput)}/input", normed));                       // [B, T, I]
        var output = _projection.ToFloat32(M(_l.MlpOutput), Project(layer, _l.MlpOutput, activated));              // [B, T, H]
        return Residual(layer, _l.MlpOutput, _l.MlpNorm, _l.MlpBias, output, hidden);
    }

    // x · Wᵀ without the bias: the fused form's precision-aware projection (the bias is added by the op that follows),
    // or the plain form's MatMul over the transposed weight.
    private string Project(int layer, string kind, string input)
    {
        var module = _l.Module(layer, kind);
        return _form == GraphForm.Fused
            ? _projection.Project(module, input, layer, kind)
            : _g.Node("MatMul", module, [input, _tensors.Transposed($"{module}.weight")]);
    }

    // Post-LN: LayerNorm(x + bias + residual), one SkipLayerNormalization in the fused form. Pre-LN: residual + x + bias.
    private string Residual(int layer, string projection, string norm, bool hasBias, string x, string residual)
    {
        var bias = hasBias ? $"{_l.Module(layer, projection)}.bias" : null;
        if (_l.Norms == NormPlacement.Post && _form == GraphForm.Fused)
            return _tensors.SkipLayerNorm(_l.Module(layer, norm), x, residual, bias, _l.NormBias, _l.NormEps);
        if (bias is not null) x = _g.Node("Add", $"{_l.Module(layer, projection)}/bias", [x, _tensors.Float32(bias)]);
        var sum = _g.Node("Add", $"{_l.Module(layer, projection)}/residual", [x, residual]);
        return _l.Norms == NormPlacement.Post ? LayerNorm(_l.Module(layer, norm), sum) : sum;
    }

    private string LayerNorm(string module, string input) => _tensors.LayerNorm(module, input, _l.NormEps, _l.NormBias);

    // ---- attention --------------------------------------------------------------------------------------------------

    private string FusedAttention(int layer, string x, EncoderMasks masks, LayerAttention? attention)
    {
        var module = _l.Module(layer, _l.Attention);
        var (q, k, v) = QueryKeyValue(layer, x, addBias: attention is not null);
        // Without rotary positions or a window MultiHeadAttention adds the q, k, v biases itself; otherwise they were
        // added before the rotation (they are part of the projection the rotation reads).
        var bias = !_l.AttentionBias || attention is not null ? ""
            : _l.QueryKeyValue.Count == 1
                ? _projection.Weight($"{_l.Module(layer, _l.QueryKeyValue[0])}.bias")
                : _g.Node("Concat", $"{module}/qkv_bias", _l.QueryKeyValue.Select(m => _projection.Weight($"{_l.Module(layer, m)}.bias")).ToArray(),
                    attributes: [OnnxGraphBuilder.Int("axis", 0)]);                                                            // [3H]
        if (attention?.Cos is { } cos)
        {
            // ONNX Runtime's RotaryEmbedding on [B, T, H], positions from 0, over the half tables in the compute type.
            var (cosCache, sinCache) = Caches(cos, attention.Sin!);
            var start = _g.AddConstant($"{module}/rotary_start", [1], 0L);
            q = RotaryEmbedding.ApplyFused(_g, $"{module}/rotary_q", q, cosCache, sinCache, start, _l.Heads);
            k = RotaryEmbedding.ApplyFused(_g, $"{module}/rotary_k", k, cosCache, sinCache, start, _l.Heads);
        }
        if (attention?.HalfWindow is { } w) return WindowAttention(module, q, k, v, masks, w);
        return MultiHeadAttention(module, q, k, v, bias, masks, attention?.ScoreBias?.Invoke(q, k) ?? "", attention?.Scale);
    }

    // The rotary tables as the fused form reads them (the half tables in the compute type) and as the plain form does
    // (cos and sin of cat(freqs, freqs), [T, D]); made once per table.
    private readonly Dictionary<string, (string Cos, string Sin)> _tables = new(StringComparer.Ordinal);

    private (string Cos, string Sin) Caches(string cos, string sin)
    {
        var key = cos + "/cache";
        if (_tables.TryGetValue(key, out var known)) return known;
        return _tables[key] = (_projection.ToCompute(cos + "/cache", cos), _projection.ToCompute(sin + "/cache", sin));
    }

    private (string Cos, string Sin) FullTables(string cos, string sin)
    {
        var key = cos + "/emb";
        if (_tables.TryGetValue(key, out var known)) return known;
        string Twice(string half) => _g.Node("Concat", $"{half}_emb", [half, half], attributes: [OnnxGraphBuilder.Int("axis", -1)]);   // [T, D]
        return _tables[key] = (Twice(cos), Twice(sin));
    }

    // q, k, v [B, T, H] from three projections or one merged one (q‖k‖v along the output features, as transformers'
    // view(…, 3, N, D) reads it; fused fp32/fp16 project the three row ranges of the merged weight, the others split
    // the product), biases added when asked.
    private (string Q, string K, string V) QueryKeyValue(int layer, string x, bool addBias)
    {
        if (_l.QueryKeyValue.Count == 3)
        {
            var projected = _l.QueryKeyValue.Select(kind =>
                Biased(_l.Module(layer, kind), Project(layer, kind, x), addBias && _l.AttentionBias)).ToArray();
            return (projected[0], projected[1], projected[2]);
        }
        var parts = ProjectParts(layer, _l.QueryKeyValue[0], x, ["q", "k", "v"], addBias && _l.AttentionBias);   // [B, T, H] each
        return (parts[0], parts[1], parts[2]);
    }

    // A merged projection's outputs, in order: part by part over row ranges of the weight, or one product split.
    private string[] ProjectParts(int layer, string kind, string x, string[] names, bool addBias)
    {
        var module = _l.Module(layer, kind);
        if (_form == GraphForm.Fused && _projection.ProjectsParts)
            return names.Select((name, part) =>
            {
                var product = _projection.Project(module, x, layer, kind, part, names.Length);
                return addBias ? _g.Node("Add", $"{module}/{part}/bias", [product, _projection.Weight($"{module}.bias", part, names.Length)]) : product;
            }).ToArray();
        var merged = Biased(module, Project(layer, kind, x), addBias);
        return _g.Node("Split", $"{module}/split", [merged], names.Select(n => $"{module}/{n}").ToArray(),
            attributes: [OnnxGraphBuilder.Int("axis", -1), OnnxGraphBuilder.Int("num_outputs", names.Length)]);
    }

    private string Biased(string module, string value, bool addBias) =>
        addBias ? _g.Node("Add", $"{module}/bias", [value, _form == GraphForm.Fused ? _projection.Weight($"{module}.bias") : _tensors.Float32($"{module}.bias")]) : value;

    // scoreBias: MultiHeadAttention's attention_bias input ([B, N, T, T], added after the scaling), "" for none; scale: its
    // scale attribute, null for the kernel's 1/√D.
    private string MultiHeadAttention(string module, string q, string k, string v, string bias, EncoderMasks masks, string scoreBias = "", double? scale = null)
    {
        Proto.AttributeProto[] attributes = scale is { } factor
            ? [OnnxGraphBuilder.Int("num_heads", _l.Heads), OnnxGraphBuilder.Float("scale", (float)factor)]
            : [OnnxGraphBuilder.Int("num_heads", _l.Heads)];
        string[] Inputs(string keyPadding) => scoreBias.Length > 0 ? [q, k, v, bias, keyPadding, scoreBias]
            : bias.Length == 0 && keyPadding.Length == 0 ? [q, k, v] : keyPadding.Length == 0 ? [q, k, v, bias] : [q, k, v, bias, keyPadding];
        if (!_flashWhenUnpadded)
            return _g.Node("MultiHeadAttention", module, Inputs(masks.KeyPadding!), attributes: attributes, domain: OnnxGraphBuilder.ContribDomain);
        var padded = _g.Branch($"{module}/padded");
        padded.AddOutput(padded.Node("MultiHeadAttention", module, Inputs(masks.KeyPadding!), $"{module}/padded/out",
            attributes: attributes, domain: OnnxGraphBuilder.ContribDomain), DataType.Float, "B", "T", _l.Hidden);
        var unpadded = _g.Branch($"{module}/unpadded");
        unpadded.AddOutput(unpadded.Node("MultiHeadAttention", module, Inputs(""), $"{module}/unpadded/out",
            attributes: attributes, domain: OnnxGraphBuilder.ContribDomain), DataType.Float, "B", "T", _l.Hidden);
        return _g.Node("If", module, [masks.Unpadded!],
            attributes: [OnnxGraphBuilder.GraphAttribute("then_branch", unpadded.Graph), OnnxGraphBuilder.GraphAttribute("else_branch", padded.Graph)]);
    }

    // A local layer: MultiHeadAttention with a band bias (the [B, N, T, T] scores of a short input cost little and run
    // in one kernel) up to DenseBandMaxHalfWindows · W tokens, the blocked SlidingWindowAttention above. fp16 (CUDA)
    // always takes the band bias.
    private string WindowAttention(string module, string q, string k, string v, EncoderMasks masks, int halfWindow)
    {
        var heads = OnnxGraphBuilder.Int("num_heads", _l.Heads);
        if (!_flashWhenUnpadded)
            return _g.Node("MultiHeadAttention", module, [q, k, v, "", masks.KeyPadding!, BandBias(_g, module, masks.AttentionMask, halfWindow)],
                attributes: [heads], domain: OnnxGraphBuilder.ContribDomain);
        // Both branches read q, k, v from the outer graph; only the chosen one runs, so the band bias is made inside the
        // dense branch (a long input never builds its [T, T]).
        var dense = _g.Branch($"{module}/dense");
        dense.AddOutput(dense.Node("MultiHeadAttention", module, [q, k, v, "", masks.KeyPadding!, BandBias(dense, module, masks.AttentionMask, halfWindow)],
            $"{module}/dense/out", attributes: [heads], domain: OnnxGraphBuilder.ContribDomain), DataType.Float, "B", "T", _l.Hidden);
        var blocked = _g.Branch($"{module}/blocked");
        blocked.AddOutput(SlidingWindowAttention.Build(blocked, $"{module}/blocked", q, k, v, masks.AttentionMask, _l.Heads, _l.HeadDim, halfWindow),
            DataType.Float, "B", "T", _l.Hidden);
        return _g.Node("If", module, [LongInput(masks, halfWindow)],
            attributes: [OnnxGraphBuilder.GraphAttribute("then_branch", blocked.Graph), OnnxGraphBuilder.GraphAttribute("else_branch", dense.Graph)]);
    }

    // The band of a local layer as an additive bias [1, 1, T, T]: 0 where |i − j| ≤ W, a large negative elsewhere
    // (float.MinValue as transformers' masked_fill; −10000 in float16, where MultiHeadAttention's kernels add it to
    // scores and float16's own minimum would overflow to −∞).
    private string BandBias(OnnxGraphBuilder g, string module, string attentionMask, int halfWindow)
    {
        var p = $"{module}/band";
        var within = Band(g, p, attentionMask, halfWindow);                                                               // [T, T] bool
        var masked = _projection.ComputeType == DataType.Float16 ? -10000f : float.MinValue;
        var bias = g.Node("Where", $"{p}/bias", [within, g.AddConstant($"{p}/zero", [], 0f), g.AddConstant($"{p}/masked", [], masked)]);
        bias = g.Node("Unsqueeze", $"{p}/bias_4d", [bias, g.AddConstant($"{p}/axes", [2], 0L, 1L)]);                          // [1, 1, T, T]
        return _projection.ComputeType == DataType.Float16
            ? g.Node("Cast", $"{p}/to_float16", [bias], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float16)])
            : bias;
    }

    // [T, T] bool: |i − j| ≤ W (transformers' `distance <= local_attention // 2`).
    private static string Band(OnnxGraphBuilder g, string p, string attentionMask, int halfWindow)
    {
        var shape = g.Node("Shape", $"{p}/shape", [attentionMask]);
        var length = g.Node("Gather", $"{p}/length", [shape, g.AddConstant($"{p}/one", [], 1L)]);
        var index = g.Node("Range", $"{p}/index", [g.AddConstant($"{p}/zero_i", [], 0L), length, g.AddConstant($"{p}/step", [], 1L)]);   // [T]
        var rows = g.Node("Unsqueeze", $"{p}/rows", [index, g.AddConstant($"{p}/axis1", [1], 1L)]);                                     // [T, 1]
        var distance = g.Node("Abs", $"{p}/distance", [g.Node("Sub", $"{p}/difference", [rows, index])]);                               // [T, T]
        return g.Node("LessOrEqual", $"{p}/within", [distance, g.AddConstant($"{p}/half_window", [], (long)halfWindow)]);
    }

    // bool []: T above DenseBandMaxHalfWindows · W, once per graph and window.
    private string LongInput(EncoderMasks masks, int halfWindow)
    {
        var p = $"{masks.Module}.window{halfWindow}.long";
        if (masks.Shared.TryGetValue(p, out var known)) return known;
        var shape = _g.Node("Shape", $"{p}/shape", [masks.AttentionMask]);
        var length = _g.Node("Gather", $"{p}/length", [shape, _g.AddConstant($"{p}/one", [], 1L)]);
        return masks.Shared[p] = _g.Node("Greater", p, [length, _g.AddConstant($"{p}/limit", [], (long)DenseBandMaxHalfWindows * halfWindow)]);
    }

    // The plain form: transformers' eager attention, op for op (scores q·kᵀ / √D plus the additive mask, softmax, · v).
    private string PlainAttention(int layer, string x, EncoderMasks masks, LayerAttention? attention)
    {
        var module = _l.Module(layer, _l.Attention);
        var (q, k, v) = QueryKeyValue(layer, x, addBias: true);
        var scoreBias = attention?.ScoreBias?.Invoke(q, k);                                                           // [B, N, T, T]
        var headShape = _g.AddConstant($"{module}/head_shape", [4], 0L, 0L, _l.Heads, _l.HeadDim);
        string Heads(string name, string value) =>
            _g.Node("Transpose", $"{module}/{name}_transpose", [_g.Node("Reshape", $"{module}/{name}_split_heads", [value, headShape])],
                attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3)]);                                               // [B, N, T, D]
        q = Heads("query", q);
        k = Heads("key", k);
        v = Heads("value", v);
        if (attention?.Cos is { } cosHalf)
        {
            var (cos, sin) = FullTables(cosHalf, attention.Sin!);                                                        // [T, D]
            q = RotaryEmbedding.Apply(_g, $"{module}/rotary_q", q, cos, sin);
            k = RotaryEmbedding.Apply(_g, $"{module}/rotary_k", k, cos, sin);
        }
        var kT = _g.Node("Transpose", $"{module}/key_t", [k], attributes: [OnnxGraphBuilder.Ints("perm", 0, 1, 3, 2)]); // [B, N, D, T]
        var scores = _g.Node("MatMul", $"{module}/scores", [q, kT]);                                                     // [B, N, T, T]
        scores = attention?.Scale is { } factor
            ? _g.Node("Mul", $"{module}/scale", [scores, _g.AddConstant($"{module}/scale_factor", [], (float)factor)])
            : _g.Node("Div", $"{module}/scale", [scores, _g.AddConstant($"{module}/sqrt_head_size", [], MathF.Sqrt(_l.HeadDim))]);
        if (scoreBias is not null) scores = _g.Node("Add", $"{module}/score_bias", [scores, scoreBias]);
        var mask = attention?.HalfWindow is { } w ? PlainBandMask(masks, w) : masks.Additive!;
        scores = _g.Node("Add", $"{module}/mask", [scores, mask]);
        var probs = _g.Node("Softmax", $"{module}/softmax", [scores], attributes: [OnnxGraphBuilder.Int("axis", -1)]);
        var context = _g.Node("MatMul", $"{module}/context", [probs, v]);                                                // [B, N, T, D]
        context = _g.Node("Transpose", $"{module}/merge_transpose", [context], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3)]);
        return _g.Node("Reshape", $"{module}/merge_heads", [context, _g.AddConstant($"{module}/merged_shape", [3], 0L, 0L, _l.Hidden)]); // [B, T, H]
    }

    // transformers' sliding_window_mask: the extended padding mask, float.MinValue outside the band too: [B, 1, T, T].
    private string PlainBandMask(EncoderMasks masks, int halfWindow)
    {
        var p = $"{masks.Module}.sliding_window_mask{halfWindow}";
        if (masks.Shared.TryGetValue(p, out var known)) return known;
        var within = Band(_g, p, masks.AttentionMask, halfWindow);
        return masks.Shared[p] = _g.Node("Where", p, [within, masks.Additive!, _g.AddConstant($"{p}/min", [], float.MinValue)]);
    }

    // ---- MLP --------------------------------------------------------------------------------------------------------

    // The MLP up to its output projection: the input projection with its bias, then BiasGelu (fused, erf GELU with a
    // bias) or the activation; gated (GLU), the activated half times the other over the two halves of the input projection.
    private string Mlp(int layer, string x)
    {
        var module = _l.Module(layer, _l.MlpInput);
        var act = _l.Module(layer, _l.MlpActivation);
        if (_l.GatedMlp)
        {
            var first = _l.ActivatedHalf == GatedHalf.First;
            var halves = ProjectParts(layer, _l.MlpInput, x, first ? ["input", "gate"] : ["up", "gate"], _l.MlpInputBias);   // [B, T, I] each
            var (activated, other) = first ? (halves[0], halves[1]) : (halves[1], halves[0]);
            return _g.Node("Mul", $"{module}/gated", [Activate(act, activated, _l.Activation), other]);
        }
        var up = Project(layer, _l.MlpInput, x);                                                                     // [B, T, I]
        if (_l.MlpInputBias && _form == GraphForm.Fused && _l.Activation == "gelu")
            return _g.Node("BiasGelu", act, [up, _projection.Weight($"{module}.bias")], domain: OnnxGraphBuilder.ContribDomain);
        return Activate(act, Biased(module, up, _l.MlpInputBias), _l.Activation);
    }

    /// <summary>transformers' ACT2FN[<paramref name="activation"/>] on <paramref name="x"/> (also a head's activation).</summary>
    public string Activate(string module, string x, string activation) => activation switch
    {
        // transformers' "gelu" is the exact erf form. The plain form spells it out (ORT fuses the pattern); the fused
        // form takes opset 20's Gelu, which ORT's CPU and CUDA providers implement.
        "gelu" when _form == GraphForm.Plain => _tensors.ErfGelu(module, x),
        "gelu" => _g.Node("Gelu", module, [x]),
        "gelu_pytorch_tanh" => _g.Node("Gelu", module, [x], attributes: [OnnxGraphBuilder.String("approximate", "tanh")]),
        "silu" => _g.Node("Mul", module, [x, _g.Node("Sigmoid", $"{module}/sigmoid", [x])]),
        _ => throw new RerankException(RerankErrorKind.UnsupportedModel,
            $"activation \"{activation}\" is not supported; RerankSharp computes {string.Join(", ", EncoderLayerLayout.Activations)}."),
    };
}
