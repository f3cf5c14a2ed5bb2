// jina-reranker-v3 (JinaForRanking, its modeling.py at the hub revision docs/models.md names; read, not copied): Qwen3's
// decoder (DecoderGraph, lm_head replaced by nn.Identity, so the output is the final-norm hidden state), read at the
// document and query marker tokens, then the projector nn.Sequential(Linear(H, M, bias=False), ReLU, Linear(M, P,
// bias=False)). The cosine scores and the merge of several blocks span the rows of a request, so they are computed
// after the graph (Scoring/ListwiseReranker).
//
// Dimension letters: K marker tokens in the batch, H hidden size, M the projector's middle width, P its output width.
using RerankSharp.Models;
using RerankSharp.Onnx.Proto;

namespace RerankSharp.Onnx;

internal static class JinaRerankerV3Graph
{
    public const string Architecture = "JinaForRanking";

    /// <summary>The graph output: one projected embedding per marker token, float [K, P].</summary>
    public const string Output = "embeddings";

    /// <summary>The Qwen3 decoder under this architecture's name (its messages name JinaForRanking).</summary>
    public static readonly DecoderFamily Family = DecoderFamily.Qwen3 with { Architecture = Architecture };

    private const string First = "projector.0.weight", Second = "projector.2.weight";

    /// <summary>The decoder's tensors (no lm_head: the reference replaces it by nn.Identity); the projector is checked by <see cref="ProjectorShape"/>.</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig c) =>
        DecoderGraph.ExpectedTensors(c, DecoderFamily.Qwen3).Where(t => t.Name != "lm_head.weight");

    public static string TensorLayout(ModelConfig c) =>
        "jina-reranker-v3's JinaForRanking: model.embed_tokens, model.layers.{i}.{self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm, mlp.{gate,up,down}_proj, "
        + "input_layernorm, post_attention_layernorm}, model.norm, projector.0 [M, hidden], projector.2 [P, M]";

    /// <summary>
    /// The projector's widths, from the checkpoint: the code builds hidden_size // 2 and 512, but the tensors decide (the
    /// model card's "1024 → 512 → 256" and the code's 512 disagree; only the checkpoint is certain).
    /// </summary>
    public static (long Middle, long Width) ProjectorShape(SafetensorsStore weights, ModelConfig c)
    {
        long[] Shape(string name) => weights.Tensors.TryGetValue(name, out var entry) ? entry.Shape
            : throw new RerankException(RerankErrorKind.InvalidModel,
                $"Model weights do not match config.json: tensor '{name}' of jina-reranker-v3's projector is missing; the model reads the layout of {TensorLayout(c)}. Re-download the model.");
        var first = Shape(First);
        var second = Shape(Second);
        if (first.Length != 2 || first[1] != c.HiddenSize || second.Length != 2 || second[1] != first[0] || first[0] < 1 || second[0] < 1)
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"Model weights do not match config.json: the projector is {First} [{string.Join(", ", first)}] and {Second} [{string.Join(", ", second)}]; "
                + $"jina-reranker-v3 reads [M, {c.HiddenSize}] and [P, M]. Re-download the model.");
        return (first[0], second[0]);
    }

    /// <summary>
    /// Builds the graph: inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T], right-padded); output
    /// <see cref="Output"/>, the projected hidden state of every document and query marker, row by row in position order.
    /// </summary>
    public static ModelProto Build(ModelConfig config, SafetensorsStore weights, string modelDirectory, int documentMarker, int queryMarker,
        Precision precision)
    {
        var (_, width) = ProjectorShape(weights, config);
        return DecoderGraph.BuildAtTokens(config, Family, weights, modelDirectory, [documentMarker, queryMarker], Projector, Output, width, precision);
    }

    // nn.Sequential(Linear, ReLU, Linear), both without bias, weights as stored [out, in]. The activation is the code's
    // (an nn.ReLU at index 1, which is why the tensors are 0 and 2); the checkpoint cannot say it.
    private static void Projector(OnnxGraphBuilder g, Func<string, string> weight, string states, string output)
    {
        var middle = g.Node("Gemm", "projector.0", [states, weight(First)], attributes: [OnnxGraphBuilder.Int("transB", 1)]);   // [K, M]
        var relu = g.Node("Relu", "projector.1", [middle]);
        g.Node("Gemm", "projector.2", [relu, weight(Second)], output, attributes: [OnnxGraphBuilder.Int("transB", 1)]);         // [K, P]
    }
}
