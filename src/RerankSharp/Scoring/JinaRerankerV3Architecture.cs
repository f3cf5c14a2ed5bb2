using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Onnx.Proto;
using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

/// <summary>
/// jina-reranker-v3 (<c>JinaForRanking</c>, model_type qwen3): a listwise reranker. A request's query and documents are
/// read together in one prompt per block (<see cref="JinaRerankerV3Tokenizer"/>), the graph returns the projected hidden
/// states at the markers (<see cref="JinaRerankerV3Graph"/>), and <see cref="ListwiseScorer"/> turns them into cosine
/// scores, merging blocks as the reference's <c>rerank()</c> does. Chosen by the switch in <see cref="RerankerArchitecture.For"/>.
/// </summary>
internal sealed class JinaRerankerV3Architecture : RerankerArchitecture
{
    public override string Name => JinaRerankerV3Graph.Architecture;

    public override void CheckSupported(ModelFolder folder)
    {
        if (folder.Config.ModelType != "qwen3")
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.ConfigPath}: model_type \"{folder.Config.ModelType}\" under JinaForRanking; jina-reranker-v3 is a Qwen3 decoder (model_type qwen3), the only backbone its code builds.");
        DecoderGraph.CheckSupported(folder.Config, JinaRerankerV3Graph.Family, folder.ConfigPath);
    }

    public override PairTokenizer LoadTokenizer(ModelFolder folder) =>
        PairTokenizer.Load(folder) is Qwen3RerankerTokenizer qwen ? new JinaRerankerV3Tokenizer(qwen.Bpe)
            : throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.Directory}: jina-reranker-v3 needs its byte-level BPE tokenizer (tokenizer.json of type BPE, or vocab.json with merges.txt) with its <|embed_token|> and <|rerank_token|> tokens.");

    /// <summary>The block capacity: the tokenizer's <c>model_max_length</c>, as the reference reads it (not the position table).</summary>
    public override int DefaultMaxLength(ModelFolder folder) => folder.TokenizerConfig?.ModelMaxLength ?? folder.DefaultMaxLength;

    public override void CheckRunsFromOnnx(ModelFolder folder) =>
        throw new RerankException(RerankErrorKind.UnsupportedModel,
            $"{folder.Directory}: jina-reranker-v3 is not run from ONNX exports (the graph must return the projected states at its marker tokens); use the safetensors checkpoint.");

    public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => JinaRerankerV3Graph.ExpectedTensors(config);

    public override string TensorLayout(ModelConfig config) => JinaRerankerV3Graph.TensorLayout(config);

    public override IReadOnlyList<(string Name, string Value)> Details(ModelFolder folder) =>
    [
        ("scoring", "listwise: the query and the documents in one prompt per block; cosine of the projected hidden states at <|embed_token|> (each document) and <|rerank_token|> (the query)"),
        ("blocks", $"up to {JinaRerankerV3Tokenizer.BlockSize} documents while model_max_length ({DefaultMaxLength(folder)}) − 2 · query tokens − document tokens > the per-document limit; "
            + $"query ≤ {JinaRerankerV3Tokenizer.DefaultMaxQueryTokens} tokens, documents ≤ {JinaRerankerV3Tokenizer.DefaultMaxDocumentTokens} (max_tokens_per_doc)"),
    ];

    public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
        PairTokenizer tokenizer)
    {
        var jina = tokenizer as JinaRerankerV3Tokenizer
            ?? throw new RerankException(RerankErrorKind.Internal, $"{Name} built with a {tokenizer.GetType().Name}. This is a bug.");
        return JinaRerankerV3Graph.Build(config, weights, weightsDirectory, jina.DocumentMarkerId, jina.QueryMarkerId, DefaultRecipeOnly(options));
    }
}
