namespace RerankSharp.Tokenization;

/// <summary>
/// A token of tokenizer.json's <c>added_tokens</c>, matched literally in the text before the model runs: in the raw text
/// (HF's <c>normalized: false</c>), or with <c>Normalized</c> in the normalized text after the others are split out
/// (byte-level BPE vocabularies use those for runs of spaces; XLM-R and BERT have none). <see cref="LStrip"/>/
/// <see cref="RStrip"/> let the match swallow whitespace on that side, as XLM-R's <c>&lt;mask&gt;</c> does on its left.
/// </summary>
internal sealed record AddedToken(string Content, int Id, bool LStrip, bool RStrip, bool Normalized = false);

/// <summary>
/// Everything the tokenizer is built from, in Hugging Face's id space (fairseq's for XLM-R). Both sources,
/// <c>sentencepiece.bpe.model</c> and <c>tokenizer.json</c>, are read into this one shape, so the
/// encoding path after loading is shared and both give the same ids by construction.
/// </summary>
/// <param name="Pieces">Vocabulary strings by id, including the special tokens (HF's Unigram vocab).</param>
/// <param name="Scores">Log-probabilities by id, as double because HF's Unigram lattice runs in f64.</param>
/// <param name="UnkId">Id of <c>&lt;unk&gt;</c>.</param>
/// <param name="PrecompiledCharsmap">sentencepiece's normalisation table; empty means no Precompiled step.</param>
/// <param name="AddedTokens">Literals split out of the raw text (the specials).</param>
/// <param name="BosId">Id of <c>&lt;s&gt;</c> (the template's CLS).</param>
/// <param name="EosId">Id of <c>&lt;/s&gt;</c> (the template's SEP).</param>
/// <param name="PadId">Id of <c>&lt;pad&gt;</c>.</param>
/// <param name="MaskId">Id of <c>&lt;mask&gt;</c>.</param>
/// <param name="DebertaV2">DeBERTa-v2/v3's layout (transformers' DebertaV2Converter): <c>[CLS] A [SEP] B [SEP]</c> with token
/// types, and the ids above are those of <c>[CLS]</c>, <c>[SEP]</c>, <c>[PAD]</c>, <c>[MASK]</c>.</param>
/// <param name="StripWhitespace">A <c>Strip</c> normaliser first: whitespace cut off both ends of each piece of text between
/// added tokens (DebertaV2Converter's since transformers 4.3x).</param>
/// <param name="ModelPieceCount">How many of <paramref name="Pieces"/> the Unigram model holds (null: all); the rest are added
/// tokens numbered after them (DeBERTa-v3's <c>[MASK]</c>), which the lattice never chooses.</param>
internal sealed record TokenizerDefinition(
    string[] Pieces,
    double[] Scores,
    int UnkId,
    byte[] PrecompiledCharsmap,
    AddedToken[] AddedTokens,
    int BosId,
    int EosId,
    int PadId,
    int MaskId,
    bool DebertaV2 = false,
    bool StripWhitespace = false,
    int? ModelPieceCount = null);
