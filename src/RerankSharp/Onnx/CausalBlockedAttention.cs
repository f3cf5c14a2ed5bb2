// Causal attention over long sequences without a [T, T] score matrix: an ONNX Loop over blocks of Q queries, each block
// scored against the keys up to its last query only. A listwise reranker reads one sequence of ten thousand tokens and
// more (jina-reranker-v3: 50 documents of 256 tokens is ~13,000), where the dense form's [B, K, G, T, T] scores, twice
// (scores and probabilities), would need ~22 GB for Qwen3-0.6B's 16 heads; here a block needs N · Q · T floats, and the
// keys after a block are never multiplied (half the products of the dense form). ONNX Runtime's CPU attention kernels
// do not help: MultiHeadAttention's flash path is not taken when it is unidirectional, GroupQueryAttention's CPU kernel
// allocates the full probabilities. Written in plain operators, so every product still runs in ONNX Runtime's GEMMs.
//
// Dimension letters: B batch, K key/value heads, G query heads per key/value head, T tokens, D head size, Q queries per
// block, M = ⌈T / Q⌉ blocks, E keys a block sees (its end, at most T).
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

internal static class CausalBlockedAttention
{
    /// <summary>Queries per block: 512 keeps a block's scores of a 13,000-token sequence at 16 heads near 0.4 GB.</summary>
    public const int BlockQueries = 512;

    /// <summary>
    /// softmax(q kᵀ · D^−½ + causal and key-padding mask) v for q [B, K, G, T, D] and k, v [B, K, 1, T, D] (rotated, heads
    /// split as the decoder layer has them), <paramref name="attentionMask"/> int64 [B, T]; returns [B, K, G, T, D].
    /// Masked scores are float.MinValue, as the dense form's, so a row's softmax is the same sum over the same keys.
    /// </summary>
    public static string Build(OnnxGraphBuilder g, string p, string q, string key, string value, string attentionMask, int headDim)
    {
        p += "/blocked";
        var block = g.AddConstant($"{p}/block", [], (long)BlockQueries);
        var one = g.AddConstant($"{p}/one", [], 1L);
        var length = g.Node("Gather", $"{p}/length", [g.Node("Shape", $"{p}/q_shape", [q]), g.AddConstant($"{p}/t_axis", [], 3L)]);   // T
        var blocks = g.Node("Div", $"{p}/blocks", [g.Node("Add", $"{p}/round_up", [length, g.Node("Sub", $"{p}/block_less_one", [block, one])]), block]); // M
        var padded = g.Node("Mul", $"{p}/padded_length", [blocks, block]);                                                     // M · Q
        // Queries padded at the end to whole blocks; the extra rows see every real key and are dropped afterwards.
        var extra = g.Node("Unsqueeze", $"{p}/extra", [g.Node("Sub", $"{p}/extra_rows", [padded, length]), g.AddConstant($"{p}/axis0", [1], 0L)]);
        var zeros = g.AddConstant($"{p}/pads_head", [8], 0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L);
        var pads = g.Node("Concat", $"{p}/pads", [zeros, extra, g.AddConstant($"{p}/pads_tail", [1], 0L)], attributes: [OnnxGraphBuilder.Int("axis", 0)]);
        var queries = g.Node("Pad", $"{p}/q_padded", [q, pads]);                                                               // [B, K, G, M·Q, D]
        var keys = g.Node("Cast", $"{p}/keys", [attentionMask], attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Bool)]);
        keys = g.Node("Unsqueeze", $"{p}/keys_5d", [keys, g.AddConstant($"{p}/keys_axes", [3], 1L, 2L, 3L)]);                 // [B, 1, 1, 1, T]
        var keyT = g.Node("Transpose", $"{p}/k_t", [key], attributes: [OnnxGraphBuilder.Ints("perm", 0, 1, 2, 4, 3)]);          // [B, K, 1, D, T]

        var body = g.Branch($"{p}/body");
        var i = body.AddInput($"{p}/i", DataType.Int64);
        body.AddInput($"{p}/cond_in", DataType.Bool);
        var axis3 = body.AddConstant($"{p}/axis3", [1], 3L);
        var axis4 = body.AddConstant($"{p}/axis4", [1], 4L);
        var zero = body.AddConstant($"{p}/zero", [1], 0L);
        var start = body.Node("Mul", $"{p}/start", [i, block]);
        var end = body.Node("Add", $"{p}/end", [start, block]);
        var start1 = body.Node("Unsqueeze", $"{p}/start_1d", [start, body.AddConstant($"{p}/axis_s", [1], 0L)]);
        var end1 = body.Node("Unsqueeze", $"{p}/end_1d", [end, body.AddConstant($"{p}/axis_e", [1], 0L)]);
        var qi = body.Node("Slice", $"{p}/q_block", [queries, start1, end1, axis3]);                                            // [B, K, G, Q, D]
        var kiT = body.Node("Slice", $"{p}/k_seen", [keyT, zero, end1, axis4]);                                                 // [B, K, 1, D, E]
        var vi = body.Node("Slice", $"{p}/v_seen", [value, zero, end1, axis3]);                                                 // [B, K, 1, E, D]
        var scores = body.Node("MatMul", $"{p}/scores", [qi, kiT]);                                                             // [B, K, G, Q, E]
        scores = body.Node("Mul", $"{p}/scale", [scores, body.AddConstant($"{p}/scaling", [], (float)Math.Pow(headDim, -0.5))]);
        var seen = body.Node("Gather", $"{p}/seen", [body.Node("Shape", $"{p}/v_shape", [vi]), body.AddConstant($"{p}/e_axis", [], 3L)]); // E
        var rows = body.Node("Unsqueeze", $"{p}/rows", [body.Node("Range", $"{p}/row_index", [start, end, body.AddConstant($"{p}/step", [], 1L)]),
            body.AddConstant($"{p}/rows_axis", [1], 1L)]);                                                                      // [Q, 1]
        var columns = body.Node("Range", $"{p}/column_index", [body.AddConstant($"{p}/first", [], 0L), seen, body.AddConstant($"{p}/step_", [], 1L)]); // [E]
        var causal = body.Node("LessOrEqual", $"{p}/causal", [columns, rows]);                                                  // [Q, E]: key ≤ query
        var allowed = body.Node("And", $"{p}/allowed", [causal, body.Node("Slice", $"{p}/keys_seen", [keys, zero, end1, axis4])]); // [B, 1, 1, Q, E]
        scores = body.Node("Where", $"{p}/mask", [allowed, scores, body.AddConstant($"{p}/min", [], float.MinValue)]);
        var probs = body.Node("Softmax", $"{p}/softmax", [scores], attributes: [OnnxGraphBuilder.Int("axis", -1)]);
        var context = body.Node("MatMul", $"{p}/context", [probs, vi], $"{p}/context_out");                                     // [B, K, G, Q, D]
        // Every block runs: the trip count alone ends the loop.
        body.AddOutput(body.Node("Cast", $"{p}/cond", [body.AddConstant($"{p}/true", [], 1L)], $"{p}/cond_out",
            attributes: [OnnxGraphBuilder.Int("to", (long)DataType.Bool)]), DataType.Bool);
        body.AddOutput(context, DataType.Float, "B", "K", "G", BlockQueries, headDim);

        var stacked = g.Node("Loop", p, [blocks, ""], attributes: [OnnxGraphBuilder.GraphAttribute("body", body.Graph)]);      // [M, B, K, G, Q, D]
        var merged = g.Node("Transpose", $"{p}/blocks_last", [stacked], attributes: [OnnxGraphBuilder.Ints("perm", 1, 2, 3, 0, 4, 5)]); // [B, K, G, M, Q, D]
        merged = g.Node("Reshape", $"{p}/merge_blocks", [merged, g.AddConstant($"{p}/merged_shape", [5], 0L, 0L, 0L, -1L, headDim)]); // [B, K, G, M·Q, D]
        return g.Node("Slice", $"{p}/drop_padding", [merged, g.AddConstant($"{p}/zero_", [1], 0L),
            g.Node("Unsqueeze", $"{p}/length_1d", [length, g.AddConstant($"{p}/axis_l", [1], 0L)]), g.AddConstant($"{p}/axis3_", [1], 3L)]); // [B, K, G, T, D]
    }
}
