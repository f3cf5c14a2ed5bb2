namespace RerankSharp.Remote;

/// <summary>The HTTP rerank API a <see cref="RemoteReranker"/> speaks: the server it is pointed at.</summary>
public enum RerankApi
{
    /// <summary><c>rerank serve</c>: <c>POST /v1/rerank</c> with its extensions (raw scores, truncation control).</summary>
    RerankSharp,
    /// <summary>Hugging Face text-embeddings-inference: <c>POST /rerank</c> {query, texts} → bare array; 32 texts per call by default.</summary>
    Tei,
    /// <summary>Cohere v1: <c>POST /v1/rerank</c> {model, query, documents, top_n} → {results: [{index, relevance_score}]}.</summary>
    CohereV1,
    /// <summary>Cohere v2: <c>POST /v2/rerank</c>, <c>model</c> required, <c>max_tokens_per_doc</c>.</summary>
    CohereV2,
    /// <summary>Jina AI: <c>POST /v1/rerank</c> {model, query, documents, top_n, return_documents}.</summary>
    Jina,
    /// <summary>vLLM: <c>POST /v1/rerank</c> (Jina's shape; documents always echoed).</summary>
    Vllm,
    /// <summary>Infinity: <c>POST /rerank</c> {query, documents, raw_scores, top_n} (Cohere-like reply).</summary>
    Infinity,
    /// <summary>llama.cpp <c>llama-server --reranking</c>: <c>POST /v1/rerank</c> (Jina's shape); scores are raw logits.</summary>
    LlamaCpp,
}
