namespace RerankSharp.Fuzz;

/// <summary>
/// One parser under fuzzing. <see cref="Run"/> takes the raw input and returns normally when the code under test gave
/// a result or refused the input the way it promises to (a <see cref="RerankException"/>, or the server's own 4xx);
/// anything else escapes and afl-fuzz records it as a crash.
/// </summary>
internal sealed record FuzzTarget(string Name, string Description, Action<byte[]> Run)
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("safetensors", "a model.safetensors file: 8-byte length, JSON header, data (SafetensorsStore.Open)", ModelFileTargets.Safetensors),
        new("safetensors-index", "model.safetensors.index.json (SafetensorsIndex.Load)", ModelFileTargets.SafetensorsIndex),
        new("config-json", "config.json (ModelConfig.Load, then the architecture's checks and tensor list)", ModelFileTargets.ConfigJson),
        new("tokenizer-config-json", "tokenizer_config.json (TokenizerConfig.Load)", ModelFileTargets.TokenizerConfigJson),
        new("tokenizer-json", "tokenizer.json of any family (PairTokenizer.FromAnyTokenizerJson: Unigram, WordPiece, byte-level BPE), then encoding with it", ModelFileTargets.TokenizerJson),
        new("sentencepiece-model", "sentencepiece.bpe.model (XlmRobertaTokenizer.FromSentencePieceModel, then encoding with it)", ModelFileTargets.SentencePieceModel),
        new("tokenizer-text", "any text through the fixture tokenizer: ids, template and length checked on every pair", TextTargets.TokenizerText),
        new("http-rerank", "POST /rerank body (TEI or Jina shape), handled end to end on tiny-a", HttpBodyTargets.TeiOrJina),
        new("http-v1-rerank", "POST /v1/rerank body (Jina / Cohere v1), handled end to end on tiny-a", HttpBodyTargets.CohereV1),
        new("http-v2-rerank", "POST /v2/rerank body (Cohere v2), handled end to end on tiny-a", HttpBodyTargets.CohereV2),
        new("http-tokenize", "POST /tokenize body (TEI), handled end to end", HttpBodyTargets.Tokenize),
        new("score-jsonl", "the JSON Lines input of `rerank score` (line reader and line parser)", TextTargets.ScoreJsonLines),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
