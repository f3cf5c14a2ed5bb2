using System.Text.Json;
using static RerankSharp.Tokenization.TokenizerJsonReader;

namespace RerankSharp.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer (<see cref="ByteLevelBpeTokenizer"/>) whose <c>tokenizer.json</c> joins a query and a
/// document with a <c>TemplateProcessing</c> post-processor: special tokens before, between and after the two texts, as
/// ModernBERT's <c>[CLS] $A [SEP] $B [SEP]</c>. Truncation is HF's on the content (<see cref="Truncation"/>), the template
/// added after it, as the fast tokenizer does. The model reads no token types, so none are produced.
/// </summary>
/// <remarks>Immutable after loading and safe to call from many threads at once.</remarks>
public sealed class TemplateBpeTokenizer : PairTokenizer
{
    private readonly ByteLevelBpeTokenizer _bpe;
    private readonly int[] _singlePrefix, _singleSuffix, _pairPrefix, _pairMiddle, _pairSuffix;

    private TemplateBpeTokenizer(ByteLevelBpeTokenizer bpe, int[][] single, int[][] pair, int padId)
    {
        _bpe = bpe;
        (_singlePrefix, _singleSuffix) = (single[0], single[1]);
        (_pairPrefix, _pairMiddle, _pairSuffix) = (pair[0], pair[1], pair[2]);
        PadId = padId;
        BosId = _pairPrefix.Length > 0 ? _pairPrefix[0] : padId;
        EosId = _pairSuffix.Length > 0 ? _pairSuffix[^1] : padId;
    }

    public override int VocabSize => _bpe.VocabSize;

    public override int PadId { get; }

    /// <summary>The template's first token (<c>[CLS]</c>).</summary>
    public override int BosId { get; }

    /// <summary>The template's last token (<c>[SEP]</c>).</summary>
    public override int EosId { get; }

    public override int PairSpecialTokens => _pairPrefix.Length + _pairMiddle.Length + _pairSuffix.Length;

    /// <summary>
    /// Reads a <c>tokenizer.json</c> of a byte-level BPE with a <c>TemplateProcessing</c> post-processor. The padding id
    /// is the added token <c>[PAD]</c>, <c>&lt;pad&gt;</c> or <c>&lt;|padding|&gt;</c> (whichever exists, in that order), else
    /// the template's last token: padded positions are masked, so any id of the vocabulary serves.
    /// </summary>
    internal static TemplateBpeTokenizer FromJson(JsonElement root, string source)
    {
        var bpe = ByteLevelBpeTokenizer.FromJson(root, source);
        var post = Required(root, "post_processor", JsonValueKind.Object, source, "post_processor");
        var special = Required(post, "special_tokens", JsonValueKind.Object, source, "post_processor.special_tokens");
        var single = Template(post, "single", special, ["A"], source);
        var pair = Template(post, "pair", special, ["A", "B"], source);
        var pad = new[] { "[PAD]", "<pad>", "<|padding|>" }.Select(bpe.IdOf).FirstOrDefault(id => id is not null)
            ?? (pair[2].Length > 0 ? pair[2][^1] : 0);
        return new TemplateBpeTokenizer(bpe, single, pair, pad);
    }

    /// <summary>Whether a tokenizer.json pairs texts through a TemplateProcessing post-processor (else Qwen's prompt does).</summary>
    internal static bool HasTemplate(JsonElement root) =>
        root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object
        && post.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "TemplateProcessing";

    // The special-token ids around and between the sequences: [before A, (between A and B,) after the last].
    private static int[][] Template(JsonElement post, string name, JsonElement special, string[] sequences, string source)
    {
        var parts = new List<List<int>> { new() };
        var seen = new List<string>();
        foreach (var item in Required(post, name, JsonValueKind.Array, source, $"post_processor.{name}").EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("Sequence", out var sequence))
            {
                seen.Add(RequiredString(sequence, "id", source, $"post_processor.{name}[].Sequence.id"));
                parts.Add([]);
            }
            else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("SpecialToken", out var token))
            {
                var id = RequiredString(token, "id", source, $"post_processor.{name}[].SpecialToken.id");
                if (!special.TryGetProperty(id, out var entry) || entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("ids", out var ids) || ids.ValueKind != JsonValueKind.Array
                    || ids.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.Number || !i.TryGetInt32(out var v) || v < 0))
                    throw Invalid(source, $"post_processor.special_tokens has no ids for '{id}'");
                parts[^1].AddRange(ids.EnumerateArray().Select(i => i.GetInt32()));
            }
            else
                throw Invalid(source, $"post_processor.{name} holds an item that is neither a Sequence nor a SpecialToken");
        }
        if (!seen.SequenceEqual(sequences))
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"'{source}': post_processor.{name} takes the sequences [{string.Join(", ", seen)}]; RerankSharp reproduces templates over [{string.Join(", ", sequences)}] in that order.");
        return parts.Select(p => p.ToArray()).ToArray();
    }

    public override int[] EncodeText(string text) => _bpe.EncodeText(text);

    public override int[] EncodeSingle(string text, int maxLength)
    {
        var specials = _singlePrefix.Length + _singleSuffix.Length;
        CheckMaxLength(maxLength, specials, "a single text");
        var ids = EncodeText(text);
        return WithSpecialTokens(ids[..Truncation.Single(ids.Length, maxLength - specials)]);
    }

    public override int[] WithSpecialTokens(int[] ids) => [.. _singlePrefix, .. ids, .. _singleSuffix];

    /// <inheritdoc />
    /// <remarks>The template's pair (<c>[CLS] query [SEP] document [SEP]</c>); there is no instruction.</remarks>
    internal override EncodedPair EncodePair(string query, string document, int maxLength, TruncationStrategy strategy,
        TruncationDirection direction, int? maxDocumentTokens, string? instruction = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        if (strategy is not (TruncationStrategy.LongestFirst or TruncationStrategy.OnlySecond))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Unknown truncation strategy {strategy}; use longest_first or only_second.");
        CheckMaxLength(maxLength, PairSpecialTokens, "a pair");
        var q = EncodeText(query);
        var d = EncodeText(document);
        var documentTokens = maxDocumentTokens is { } cap ? Math.Min(d.Length, Math.Max(cap, 0)) : d.Length;
        var (keepQ, keepD) = Truncation.Pair(q.Length, documentTokens, maxLength - PairSpecialTokens, strategy, maxLength);
        var left = direction == TruncationDirection.Left;
        var qs = left ? q.AsSpan(q.Length - keepQ) : q.AsSpan(0, keepQ);
        var ds = left ? d.AsSpan(d.Length - keepD) : d.AsSpan(0, keepD);
        return new EncodedPair(BuildPair(qs, ds, null), q.Length + d.Length + PairSpecialTokens);
    }

    internal override int[] BuildPair(ReadOnlySpan<int> query, ReadOnlySpan<int> document, string? instruction) =>
        [.. _pairPrefix, .. query, .. _pairMiddle, .. document, .. _pairSuffix];

    public override string[] ToPieces(ReadOnlySpan<int> ids) => _bpe.ToPieces(ids);

    public override bool IsSpecial(int id) => _bpe.IsSpecial(id);
}
