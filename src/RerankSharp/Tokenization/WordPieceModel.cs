using System.Text;
using MlWordPiece = Microsoft.ML.Tokenizers.WordPieceTokenizer;

namespace RerankSharp.Tokenization;

/// <summary>
/// The WordPiece model stage: Microsoft.ML.Tokenizers' <see cref="MlWordPiece"/> applied to one word at a time (the
/// longest vocabulary piece from the left, later pieces with the <c>##</c> prefix; a word with an uncoverable part, or
/// longer than <c>max_input_chars_per_word</c> characters, is one unknown token). Its own normalizer, pre-tokenizer and
/// special-token handling are not used: they differ from Hugging Face's (docs/tokenizer.md), ours run before it.
/// </summary>
internal sealed class WordPieceModel
{
    private readonly MlWordPiece _wordPiece;
    private readonly string[] _pieces;

    public WordPieceModel(string[] pieces, int unkId, string continuingSubwordPrefix = "##", int maxInputCharsPerWord = 100)
    {
        _pieces = pieces;
        UnkId = unkId;
        using var vocab = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', pieces) + "\n"));
        _wordPiece = MlWordPiece.Create(vocab, new Microsoft.ML.Tokenizers.WordPieceOptions
        {
            UnknownToken = pieces[unkId],
            ContinuingSubwordPrefix = continuingSubwordPrefix,
            MaxInputCharsPerWord = maxInputCharsPerWord,
        });
    }

    public int UnkId { get; }

    public int Count => _pieces.Length;

    public string IdToPiece(int id) => _pieces[id];

    /// <summary>Appends the ids of one normalized, pre-tokenized word.</summary>
    public void Encode(ReadOnlySpan<char> word, ref PooledBuffer<int> ids)
    {
        foreach (var id in _wordPiece.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false))
            ids.Add(id);
    }
}
