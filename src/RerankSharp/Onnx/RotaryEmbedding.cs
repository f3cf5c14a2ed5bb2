using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>
/// Rotary position embeddings as transformers' default rope computes them (<c>*RotaryEmbedding</c> with
/// <c>rope_type: default</c>, and <c>apply_rotary_pos_emb</c>): positions 0..T-1 of every row (right padding keeps a
/// row's real tokens where they are alone), inv_freq = 1 / θ^(2i/D), emb = cat(freqs, freqs), and
/// x · cos + rotate_half(x) · sin with rotate_half(x) = cat(−x[D/2:], x[:D/2]) (the NeoX half split, not interleaved).
/// </summary>
internal static class RotaryEmbedding
{
    /// <summary>
    /// cos and sin of position · inv_freq, [T, D] each, for the sequence length of <paramref name="inputIds"/> ([B, T]);
    /// positions start at <paramref name="start"/> (an int64 scalar: the tokens already in a key/value cache) or at 0.
    /// </summary>
    public static (string Cos, string Sin) Tables(OnnxGraphBuilder g, string module, string inputIds, int headDim, double theta, string? start = null)
    {
        var (cos, sin) = HalfTables(g, module, inputIds, InverseFrequencies(headDim, theta), start);
        // emb = cat(freqs, freqs), so its cos and sin are the half tables twice.
        return (g.Node("Concat", $"{module}/cos_emb", [cos, cos], attributes: [OnnxGraphBuilder.Int("axis", -1)]),
            g.Node("Concat", $"{module}/sin_emb", [sin, sin], attributes: [OnnxGraphBuilder.Int("axis", -1)]));
    }

    /// <summary>
    /// cos and sin of position · inv_freq, [T, D/2] each: the cos_cache and sin_cache of ONNX Runtime's contrib
    /// <c>RotaryEmbedding</c> (<see cref="ApplyFused"/>).
    /// </summary>
    public static (string Cos, string Sin) HalfTables(OnnxGraphBuilder g, string module, string inputIds, int headDim, double theta) =>
        HalfTables(g, module, inputIds, InverseFrequencies(headDim, theta));

    /// <summary>The default rope's inv_freq: 1 / θ^(2i/D) for i in 0..D/2-1.</summary>
    public static double[] InverseFrequencies(int headDim, double theta) =>
        Enumerable.Range(0, headDim / 2).Select(i => 1.0 / Math.Pow(theta, 2.0 * i / headDim)).ToArray();

    /// <summary>
    /// As <see cref="HalfTables(OnnxGraphBuilder, string, string, int, double)"/> over given inv_freq values (D/2 of them):
    /// for a scaled rope whose frequencies differ from the default's (GTE's NTK scaling).
    /// </summary>
    public static (string Cos, string Sin) HalfTables(OnnxGraphBuilder g, string module, string inputIds, IReadOnlyList<double> inverseFrequencies,
        string? start = null)
    {
        var inverse = inverseFrequencies.Select(f => (float)f).ToArray();
        var invFreq = g.AddConstant($"{module}.inv_freq", [1, inverse.Length], inverse);
        var shape = g.Node("Shape", $"{module}/shape", [inputIds]);
        var length = g.Node("Gather", $"{module}/length", [shape, g.AddConstant($"{module}/one", [], 1L)]);                                // T
        // Past the cached tokens, position p is computed as in a run from 0 (the same float p), so the tables match.
        var first = start ?? g.AddConstant($"{module}/zero", [], 0L);
        var end = start is null ? length : g.Node("Add", $"{module}/end", [start, length]);
        var positions = g.Node("Range", $"{module}/positions", [first, end, g.AddConstant($"{module}/step", [], 1L)]);
        var positionsF = g.Node("Cast", $"{module}/positions_float", [positions], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Float)]);
        var column = g.Node("Unsqueeze", $"{module}/positions_column", [positionsF, g.AddConstant($"{module}/axis1", [1], 1L)]);          // [T, 1]
        var freqs = g.Node("Mul", $"{module}/freqs", [column, invFreq]);                                                                  // [T, D/2]
        return (g.Node("Cos", $"{module}/cos", [freqs]), g.Node("Sin", $"{module}/sin", [freqs]));
    }

    /// <summary>
    /// The same rotation as <see cref="Apply"/> on x [B, T, N·D] in one kernel (ONNX Runtime's contrib
    /// <c>RotaryEmbedding</c>, half split, positions 0..T-1) over the half tables of <see cref="HalfTables(OnnxGraphBuilder, string, string, IReadOnlyList{double}, string)"/>.
    /// </summary>
    public static string ApplyFused(OnnxGraphBuilder g, string name, string x, string cosHalf, string sinHalf, string startPosition, int heads) =>
        g.Node("RotaryEmbedding", name, [x, startPosition, cosHalf, sinHalf],
            attributes: [OnnxGraphBuilder.Int("interleaved", 0), OnnxGraphBuilder.Int("num_heads", heads)], domain: OnnxGraphBuilder.ContribDomain);

    /// <summary>x · cos + rotate_half(x) · sin over x's last axis (D); cos and sin broadcast against x.</summary>
    public static string Apply(OnnxGraphBuilder g, string name, string x, string cos, string sin)
    {
        var halves = g.Node("Split", name + "/split", [x], [name + "/first", name + "/second"],
            attributes: [OnnxGraphBuilder.Int("axis", -1), OnnxGraphBuilder.Int("num_outputs", 2)]);
        var rotated = g.Node("Concat", name + "/rotate_half", [g.Node("Neg", name + "/neg", [halves[1]]), halves[0]], attributes: [OnnxGraphBuilder.Int("axis", -1)]);
        return g.Node("Add", name, [g.Node("Mul", name + "/cos", [x, cos]), g.Node("Mul", name + "/sin", [rotated, sin])]);
    }
}
