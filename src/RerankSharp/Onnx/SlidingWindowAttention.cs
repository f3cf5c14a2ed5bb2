// Dimension letters: B batch, T tokens, N heads, D head size, H = N·D, W the half window (a query sees keys within W
// positions on either side), C the number of blocks of W tokens (T padded up to C·W).
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>
/// Bidirectional sliding-window attention (ModernBERT's local layers: query i sees key j when |i − j| ≤ W and j is
/// not padding) without the [T, T] score matrix: the sequence is cut into blocks of W tokens, and each block's
/// queries attend to the keys of three blocks (the one before, their own, the one after), which hold every key within
/// W of any of its queries. Scores are [B, N, C, W, 3W]: 3W per query instead of T, 12 MiB per head at 8,192 tokens
/// and W = 64 instead of 256 MiB.
/// </summary>
/// <remarks>
/// ONNX Runtime's CPU provider has no bidirectional sliding-window kernel: MultiHeadAttention takes a key padding
/// mask and a dense [B or 1, N or 1, T, T] attention bias (a band bias works, but materialises T² scores), and
/// GroupQueryAttention's <c>local_window_size</c> is a causal left window for decoders. So this is plain ONNX
/// (Pad, Slice, Reshape, MatMul, Where, Softmax), in float32. Masked keys are filled with float.MinValue before the
/// softmax as transformers' <c>masked_fill</c> does, so a query's probabilities are those of the dense band exactly.
/// </remarks>
internal static class SlidingWindowAttention
{
    /// <summary>
    /// The attention of <paramref name="q"/>, <paramref name="k"/>, <paramref name="v"/> ([B, T, H] float32, rotary
    /// already applied) under the window; <paramref name="attentionMask"/> is the int64 [B, T] mask. Returns [B, T, H].
    /// </summary>
    public static string Build(OnnxGraphBuilder g, string module, string q, string k, string v, string attentionMask, int heads, int headDim,
        int halfWindow)
    {
        var m = $"{module}/window";
        long w = halfWindow, n = heads, d = headDim;
        var shape = g.Node("Shape", $"{m}/shape", [attentionMask]);
        var t = g.Node("Gather", $"{m}/tokens", [shape, g.AddConstant($"{m}/axis_t", [1], 1L)]);                                  // [1] = T
        var wConst = g.AddConstant($"{m}/w", [1], w);
        // C = ceil(T / W); padding to C·W at the end, and W more on both sides of the keys.
        var blocks = g.Node("Div", $"{m}/blocks", [g.Node("Add", $"{m}/round_up", [t, g.AddConstant($"{m}/w_minus_one", [1], w - 1)]), wConst]);
        var padded = g.Node("Mul", $"{m}/padded_tokens", [blocks, wConst]);                                                      // [1] = C·W
        var tail = g.Node("Sub", $"{m}/tail", [padded, t]);
        var axis1 = g.AddConstant($"{m}/axis1", [1], 1L);
        var zero = g.AddConstant($"{m}/zero", [1], 0L);

        string Pad(string name, string x, string before, string after, string value) =>
            g.Node("Pad", $"{m}/{name}", [x, g.Node("Concat", $"{m}/{name}_pads", [before, after], attributes: [OnnxGraphBuilder.Int("axis", 0)]), value, axis1]);

        // Queries: [B, C·W, H] → [B, C, W, N, D] → [B, N, C, W, D].
        var zeroF = g.AddConstant($"{m}/zero_f", [], 0f);
        var qBlocks = g.Node("Reshape", $"{m}/q_blocks", [Pad("q_pad", q, zero, tail, zeroF), g.AddConstant($"{m}/q_shape", [5], 0L, -1L, w, n, d)]);
        qBlocks = g.Node("Transpose", $"{m}/q_heads", [qBlocks], attributes: [OnnxGraphBuilder.Ints("perm", 0, 3, 1, 2, 4)]);

        // Keys and values: [B, W + C·W + W, H] → [B, N, (C+2)·W, D], then for each block the three blocks around it:
        // [B, N, C, 3W, D].
        var tailPlusW = g.Node("Add", $"{m}/tail_plus_w", [tail, wConst]);
        string Windows(string name, string x, string headShape, long[] perm, int axis, long[] blockShape, string pad)
        {
            var extended = Pad($"{name}_pad", x, wConst, tailPlusW, pad);
            if (headShape.Length > 0)
                extended = g.Node("Transpose", $"{m}/{name}_heads", [g.Node("Reshape", $"{m}/{name}_split", [extended, headShape])],
                    attributes: [OnnxGraphBuilder.Ints("perm", perm)]);
            var axes = g.AddConstant($"{m}/{name}_axes", [1], axis);
            var parts = new string[3];
            for (var i = 0; i < 3; i++)
            {
                var start = g.Node("Mul", $"{m}/{name}_start{i}", [wConst, g.AddConstant($"{m}/{name}_offset{i}", [1], (long)i)]);
                var end = g.Node("Add", $"{m}/{name}_end{i}", [start, padded]);
                var slice = g.Node("Slice", $"{m}/{name}_slice{i}", [extended, start, end, axes]);
                parts[i] = g.Node("Reshape", $"{m}/{name}_blocks{i}", [slice, g.AddConstant($"{m}/{name}_block_shape{i}", [blockShape.Length], blockShape)]);
            }
            return g.Node("Concat", $"{m}/{name}_windows", parts, attributes: [OnnxGraphBuilder.Int("axis", blockShape.Length - (headShape.Length > 0 ? 2 : 1))]);
        }
        var headShape = g.AddConstant($"{m}/kv_shape", [4], 0L, -1L, n, d);
        var kWindows = Windows("k", k, headShape, [0, 2, 1, 3], 2, [0, 0, -1, w, d], zeroF);                                   // [B, N, C, 3W, D]
        var vWindows = Windows("v", v, headShape, [0, 2, 1, 3], 2, [0, 0, -1, w, d], zeroF);                                   // [B, N, C, 3W, D]

        // Which keys each query may see: inside the band (a constant [W, 3W] pattern, the same for every block) and
        // a real token of the row (the mask padded with zeros like the keys): [B, 1, C, W, 3W].
        var band = new long[w * 3 * w];
        for (var r = 0; r < w; r++)
            for (var j = 0; j < 3 * w; j++)
                band[r * 3 * w + j] = Math.Abs(j - w - r) <= w ? 1 : 0;
        var bandMask = g.Node("Cast", $"{m}/band", [g.AddConstant($"{m}/band_pattern", [w, 3 * w], band)],
            attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Bool)]);                                                       // [W, 3W]
        var keyWindows = Windows("keys", attentionMask, "", [], 1, [0, -1, w], g.AddConstant($"{m}/zero_i", [], 0L));         // [B, C, 3W]
        var keyValid = g.Node("Cast", $"{m}/key_valid", [keyWindows], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Bool)]);
        keyValid = g.Node("Unsqueeze", $"{m}/key_valid_5d", [keyValid, g.AddConstant($"{m}/key_axes", [2], 1L, 3L)]);           // [B, 1, C, 1, 3W]
        var allowed = g.Node("And", $"{m}/allowed", [bandMask, keyValid]);                                                       // [B, 1, C, W, 3W]

        var kT = g.Node("Transpose", $"{m}/k_t", [kWindows], attributes: [OnnxGraphBuilder.Ints("perm", 0, 1, 2, 4, 3)]);        // [B, N, C, D, 3W]
        var scores = g.Node("MatMul", $"{m}/scores", [qBlocks, kT]);                                                             // [B, N, C, W, 3W]
        scores = g.Node("Mul", $"{m}/scale", [scores, g.AddConstant($"{m}/scaling", [], (float)Math.Pow(d, -0.5))]);
        scores = g.Node("Where", $"{m}/mask", [allowed, scores, g.AddConstant($"{m}/min", [], float.MinValue)]);
        var probs = g.Node("Softmax", $"{m}/softmax", [scores], attributes: [OnnxGraphBuilder.Int("axis", -1)]);
        var context = g.Node("MatMul", $"{m}/context", [probs, vWindows]);                                                       // [B, N, C, W, D]
        context = g.Node("Transpose", $"{m}/merge_transpose", [context], attributes: [OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1, 4)]); // [B, C, W, N, D]
        context = g.Node("Reshape", $"{m}/merge_heads", [context, g.AddConstant($"{m}/merged_shape", [3], 0L, -1L, n * d)]);     // [B, C·W, H]
        return g.Node("Slice", module, [context, zero, t, axis1]);                                                               // [B, T, H]
    }
}
