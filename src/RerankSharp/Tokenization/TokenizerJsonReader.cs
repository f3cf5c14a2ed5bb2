using System.Text.Json;

namespace RerankSharp.Tokenization;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> of the XLM-RoBERTa or DeBERTa-v2/v3 kind into a <see cref="TokenizerDefinition"/>.
/// Microsoft.ML.Tokenizers 2.0.1 has no loader for this format, so it is parsed here. Only the pipelines
/// transformers' XLMRobertaConverter and DebertaV2Converter write are accepted — Unigram model, an optional
/// <c>Strip</c> (DeBERTa's), Precompiled + <c>Replace(" {2,}", " ")</c> normaliser, Metaspace pre-tokeniser (alone or as
/// DeBERTa's one-step Sequence), and the <c>&lt;s&gt; A &lt;/s&gt;(&lt;/s&gt; B &lt;/s&gt;)</c> or
/// <c>[CLS] A [SEP](B:1 [SEP]:1)</c> template — and anything else fails at load naming the key, rather than tokenizing
/// differently from the reference.
/// </summary>
internal static class TokenizerJsonReader
{
    public static TokenizerDefinition Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"tokenizer.json '{path}' not found; pass the path of the model's tokenizer.json or of sentencepiece.bpe.model.");
        }

        // Checked as UTF-8 text with no lone-surrogate escapes before anything reads it: JsonDocument would
        // otherwise throw InvalidOperationException from whichever string read met the bad bytes first (found by fuzzing).
        using var doc = Models.JsonFile.Read(path, "replace it with the model's tokenizer.json");
        return FromJson(doc.RootElement, path);
    }

    internal static TokenizerDefinition FromJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(source, "the top level is not an object");
        }

        var model = Required(root, "model", JsonValueKind.Object, source, "model");
        string type = RequiredString(model, "type", source, "model.type");
        if (type != "Unigram")
        {
            throw Unsupported(source, $"model.type is '{type}'; only Unigram (XLM-RoBERTa) tokenizers are supported");
        }

        if (model.TryGetProperty("byte_fallback", out var byteFallback) && byteFallback.ValueKind == JsonValueKind.True)
        {
            throw Unsupported(source, "model.byte_fallback is true, which XLM-RoBERTa tokenizers do not use");
        }

        var vocab = Required(model, "vocab", JsonValueKind.Array, source, "model.vocab");
        int count = vocab.GetArrayLength();
        var pieces = new string[count];
        var scores = new double[count];
        int i = 0;
        foreach (var entry in vocab.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2
                || entry[0].ValueKind != JsonValueKind.String || entry[1].ValueKind != JsonValueKind.Number)
            {
                throw Invalid(source, $"model.vocab[{i}] is not a [piece, score] pair");
            }

            pieces[i] = entry[0].GetString()!;
            scores[i] = entry[1].GetDouble();
            i++;
        }

        if (!model.TryGetProperty("unk_id", out var unkElement) || unkElement.ValueKind != JsonValueKind.Number
            || !unkElement.TryGetInt32(out int unkId) || unkId < 0 || unkId >= count)
        {
            throw Invalid(source, $"model.unk_id is missing or outside the {count}-entry vocabulary");
        }

        var (charsmap, strip) = ReadNormalizer(root, source);
        ReadPreTokenizer(root, source);
        int addedCount = root.TryGetProperty("added_tokens", out var list) && list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 0;
        var added = ReadAddedTokens(root, count + addedCount, source);
        bool deberta = IsDebertaTemplate(root);

        // Added tokens past the Unigram vocabulary (DeBERTa-v3's [MASK] = 128000, after the spm pieces) take the next ids, as
        // HF's AddedVocabulary numbers them; they are ids of the tokenizer but not pieces the Unigram lattice can choose.
        int modelCount = count;
        var beyond = added.Where(t => t.Id >= count).Select(t => t.Id).Order().ToArray();
        if (!beyond.SequenceEqual(Enumerable.Range(count, beyond.Length)))
        {
            throw Invalid(source, $"added_tokens beyond the {count}-entry vocabulary do not take the ids {count}, {count + 1}, … in turn");
        }

        if (beyond.Length > 0)
        {
            pieces = [.. pieces, .. beyond.Select(id => added.First(t => t.Id == id).Content)];
            scores = [.. scores, .. beyond.Select(_ => 0.0)];
        }

        int Special(string content)
        {
            foreach (var token in added)
            {
                if (token.Content == content)
                {
                    return token.Id;
                }
            }

            throw Unsupported(source, $"added_tokens has no '{content}', which {(deberta ? "DeBERTa-v2" : "XLM-RoBERTa")} tokenizers define");
        }

        int bos = Special(deberta ? "[CLS]" : "<s>"), eos = Special(deberta ? "[SEP]" : "</s>");
        int pad = Special(deberta ? "[PAD]" : "<pad>"), mask = Special(deberta ? "[MASK]" : "<mask>");
        ReadPostProcessor(root, bos, eos, pieces, source, deberta);
        return new TokenizerDefinition(pieces, scores, unkId, charsmap, added, bos, eos, pad, mask, deberta, strip, modelCount);
    }

    // DeBERTa-v2's post-processor, told apart by its template's first special token (the rest is checked by ReadPostProcessor).
    private static bool IsDebertaTemplate(JsonElement root) =>
        root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object
        && post.TryGetProperty("single", out var single) && single.ValueKind == JsonValueKind.Array && single.GetArrayLength() > 0
        && single[0].ValueKind == JsonValueKind.Object && single[0].TryGetProperty("SpecialToken", out var first)
        && first.ValueKind == JsonValueKind.Object && first.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
        && id.GetString() == "[CLS]";

    private static (byte[] Charsmap, bool Strip) ReadNormalizer(JsonElement root, string source)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
        {
            throw Unsupported(source, "normalizer is null; XLM-RoBERTa tokenizers normalise with a Precompiled charsmap");
        }

        var steps = new List<(JsonElement Step, string Path)>();
        if (RequiredString(normalizer, "type", source, "normalizer.type") == "Sequence")
        {
            var list = Required(normalizer, "normalizers", JsonValueKind.Array, source, "normalizer.normalizers");
            int k = 0;
            foreach (var step in list.EnumerateArray())
            {
                steps.Add((step, $"normalizer.normalizers[{k++}]"));
            }
        }
        else
        {
            steps.Add((normalizer, "normalizer"));
        }

        // The reference order is (Strip,) Precompiled, then Replace; the pipeline hard-wires that order.
        byte[]? charsmap = null;
        bool replace = false, strip = false;
        foreach (var (step, path) in steps)
        {
            string type = RequiredString(step, "type", source, path + ".type");
            if (type == "Strip" && charsmap is null && !strip)
            {
                // DebertaV2Converter's Strip() strips both ends; one side only is another normaliser.
                if (!Flag(step, "strip_left") || !Flag(step, "strip_right"))
                {
                    throw Unsupported(source, $"{path} (Strip) does not strip both ends, as DeBERTa-v2's does");
                }

                strip = true;
            }
            else if (type == "Precompiled" && charsmap is null && !replace)
            {
                string base64 = RequiredString(step, "precompiled_charsmap", source, path + ".precompiled_charsmap");
                try
                {
                    charsmap = Convert.FromBase64String(base64);
                }
                catch (FormatException)
                {
                    throw Invalid(source, path + ".precompiled_charsmap is not base64");
                }
            }
            else if (type == "Replace" && !replace
                && step.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
                && pattern.TryGetProperty("Regex", out var regex) && regex.ValueKind == JsonValueKind.String && regex.GetString() == " {2,}"
                && step.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String && content.GetString() == " ")
            {
                replace = true;
            }
            else
            {
                throw Unsupported(source, $"{path} ({type}) is not part of the XLM-RoBERTa / DeBERTa-v2 normaliser ((Strip,) Precompiled, then Replace(\" {{2,}}\", \" \"))");
            }
        }

        if (charsmap is null || !replace)
        {
            throw Unsupported(source, "normalizer lacks the Precompiled charsmap or the Replace(\" {2,}\", \" \") step of XLM-RoBERTa and DeBERTa-v2");
        }

        return (charsmap, strip);
    }

    private static void ReadPreTokenizer(JsonElement root, string source)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            throw Unsupported(source, "pre_tokenizer is missing; XLM-RoBERTa tokenizers use Metaspace");
        }

        string type = RequiredString(pre, "type", source, "pre_tokenizer.type");
        if (type == "Sequence")
        {
            // DebertaV2Converter wraps Metaspace in a Sequence, after Punctuation when split_by_punct (not reproduced).
            var list = Required(pre, "pretokenizers", JsonValueKind.Array, source, "pre_tokenizer.pretokenizers");
            if (list.GetArrayLength() != 1)
            {
                throw Unsupported(source, $"pre_tokenizer is a Sequence of {list.GetArrayLength()} steps; RerankSharp reproduces a Metaspace alone (DeBERTa-v2 with split_by_punct false)");
            }

            pre = list[0];
            type = RequiredString(pre, "type", source, "pre_tokenizer.pretokenizers[0].type");
        }

        if (type != "Metaspace")
        {
            throw Unsupported(source, $"pre_tokenizer.type is '{type}'; XLM-RoBERTa tokenizers use Metaspace");
        }

        if (RequiredString(pre, "replacement", source, "pre_tokenizer.replacement") != "\u2581")
        {
            throw Unsupported(source, "pre_tokenizer.replacement is not '\u2581'");
        }

        // tokenizers < 0.19 wrote add_prefix_space; later versions write prepend_scheme. Both mean "always" here.
        bool prepend = pre.TryGetProperty("prepend_scheme", out var scheme)
            ? scheme.ValueKind == JsonValueKind.String && scheme.GetString() == "always"
            : pre.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True;
        if (!prepend)
        {
            throw Unsupported(source, "pre_tokenizer does not prepend '\u2581' always (prepend_scheme \"always\" / add_prefix_space true)");
        }

        if (pre.TryGetProperty("split", out var split) && split.ValueKind == JsonValueKind.False)
        {
            throw Unsupported(source, "pre_tokenizer.split is false; XLM-RoBERTa tokenizers split on '\u2581'");
        }
    }

    internal static AddedToken[] ReadAddedTokens(JsonElement root, int vocabCount, string source, string family = "XLM-RoBERTa", bool allowNormalized = false)
    {
        var list = Required(root, "added_tokens", JsonValueKind.Array, source, "added_tokens");
        var tokens = new List<AddedToken>();
        int k = 0;
        foreach (var entry in list.EnumerateArray())
        {
            string path = $"added_tokens[{k++}]";
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(source, path + " is not an object");
            }

            string content = RequiredString(entry, "content", source, path + ".content");
            // Each element's kind is checked before it is read: JsonElement throws InvalidOperationException otherwise (found by fuzzing).
            if (!entry.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetInt32(out int id) || id < 0 || id >= vocabCount)
            {
                throw Invalid(source, $"{path}.id is missing or outside the {vocabCount}-entry vocabulary");
            }

            if (content.Length == 0)
            {
                throw Invalid(source, path + ".content is empty");
            }

            // Tokens matched only as whole words take another code path in HF tokenizers, and so do tokens matched after
            // normalisation, which only the byte-level BPE reader implements (Qwen2PreTokenizer's second pass); a family
            // without them refuses them rather than half-supporting them.
            if (Flag(entry, "single_word") || (Flag(entry, "normalized") && !allowNormalized))
            {
                throw new RerankException(RerankErrorKind.UnsupportedModel, $"'{source}': {path} ('{content}') is normalized or single_word, which {family} special tokens are not; this tokenizer is not supported.");
            }

            tokens.Add(new AddedToken(content, id, Flag(entry, "lstrip"), Flag(entry, "rstrip"), Flag(entry, "normalized")));
        }

        return [.. tokens];
    }

    private static void ReadPostProcessor(JsonElement root, int bos, int eos, string[] pieces, string source, bool deberta)
    {
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object)
        {
            throw Unsupported(source, "post_processor is missing; XLM-RoBERTa tokenizers add <s> and </s>");
        }

        string type = RequiredString(post, "type", source, "post_processor.type");
        if (type == "RobertaProcessing" && !deberta)
        {
            // <s> A </s> and <s> A </s></s> B </s> by definition; only the two ids need checking.
            if (!SpecialPair(post, "cls", "<s>", bos) || !SpecialPair(post, "sep", "</s>", eos))
            {
                throw Unsupported(source, "post_processor cls/sep are not [\"<s>\", bos] / [\"</s>\", eos]");
            }

            return;
        }

        if (type != "TemplateProcessing")
        {
            throw Unsupported(source, $"post_processor.type is '{type}'; XLM-RoBERTa tokenizers use TemplateProcessing or RobertaProcessing");
        }

        string single = TemplateText(Required(post, "single", JsonValueKind.Array, source, "post_processor.single"), source, "single");
        string pair = TemplateText(Required(post, "pair", JsonValueKind.Array, source, "post_processor.pair"), source, "pair");
        var (expectedSingle, expectedPair) = deberta
            ? ("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1")
            : ("<s> $A </s>", "<s> $A </s> </s> $B </s>");
        if (single != expectedSingle || pair != expectedPair)
        {
            throw Unsupported(source, $"post_processor template is '{single}' / '{pair}'; {(deberta ? "DeBERTa-v2" : "XLM-RoBERTa")}'s is '{expectedSingle}' / '{expectedPair}'");
        }

        var specials = Required(post, "special_tokens", JsonValueKind.Object, source, "post_processor.special_tokens");
        foreach (var (name, id) in deberta ? new[] { ("[CLS]", bos), ("[SEP]", eos) } : new[] { ("<s>", bos), ("</s>", eos) })
        {
            if (!specials.TryGetProperty(name, out var entry) || entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("ids", out var ids)
                || ids.ValueKind != JsonValueKind.Array || ids.GetArrayLength() != 1 || ids[0].ValueKind != JsonValueKind.Number || !ids[0].TryGetInt32(out int templateId)
                || templateId != id || pieces[id] != name)
            {
                throw Unsupported(source, $"post_processor.special_tokens['{name}'] does not map to the single id {id}");
            }
        }
    }

    private static string TemplateText(JsonElement items, string source, string name)
    {
        var parts = new List<string>();
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(source, $"post_processor.{name} has an item that is not an object");
            }

            // A token type other than 0 is written as HF's template strings write it (":1"), so the comparison checks it too.
            if (item.TryGetProperty("SpecialToken", out var special) && special.ValueKind == JsonValueKind.Object && special.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
            {
                parts.Add(id.GetString()! + TypeSuffix(special));
            }
            else if (item.TryGetProperty("Sequence", out var sequence) && sequence.ValueKind == JsonValueKind.Object && sequence.TryGetProperty("id", out var seq) && seq.ValueKind == JsonValueKind.String)
            {
                parts.Add("$" + seq.GetString() + TypeSuffix(sequence));
            }
            else
            {
                throw Invalid(source, $"post_processor.{name} has an item that is neither SpecialToken nor Sequence");
            }
        }

        return string.Join(' ', parts);
    }

    /// <summary>
    /// A BPE tokenizer.json's model and added tokens, read alike for the byte-level (Qwen, ModernBERT) and the
    /// byte-fallback (Gemma) forms; <paramref name="unsupported"/> words the refusal of a model option neither runs.
    /// </summary>
    internal static (Dictionary<string, int> Vocab, List<(string Left, string Right)> Merges, AddedToken[] Added, int[] Special) ReadBpeModel(
        JsonElement root, string source, string family, bool allowNormalized, Func<string, RerankException> unsupported)
    {
        var model = Required(root, "model", JsonValueKind.Object, source, "model");
        if (model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True)
            throw unsupported("model.ignore_merges is true");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number)
            throw unsupported("model.dropout is set");
        var vocab = ReadVocab(Required(model, "vocab", JsonValueKind.Object, source, "model.vocab"), source, "model.vocab");
        var merges = Required(model, "merges", JsonValueKind.Array, source, "model.merges").EnumerateArray().Select(m => m.ValueKind switch
        {
            JsonValueKind.String => SplitMerge(m.GetString()!, source),
            JsonValueKind.Array when m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String
                => (m[0].GetString()!, m[1].GetString()!),
            _ => throw Invalid(source, "model.merges holds an entry that is neither \"a b\" nor [a, b]"),
        }).ToList();
        var maxId = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), root.TryGetProperty("added_tokens", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var v) ? v : -1).DefaultIfEmpty(-1).Max() : -1);
        var added = ReadAddedTokens(root, maxId + 1, source, family, allowNormalized);
        var special = list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(t => Flag(t, "special")).Select(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("id", out var id)
                && id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var v) ? v : throw Invalid(source, "a special added token has no integer id")).ToArray()
            : [];
        return (vocab, merges, added, special);
    }

    internal static Dictionary<string, int> ReadVocab(JsonElement vocab, string source, string what)
    {
        if (vocab.ValueKind != JsonValueKind.Object) throw Invalid(source, $"{what} is not an object");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
            result[entry.Name] = entry.Value.ValueKind == JsonValueKind.Number && entry.Value.TryGetInt32(out var id) && id >= 0 ? id : throw Invalid(source, $"{what}['{entry.Name}'] is not a non-negative id");
        return result;
    }

    internal static (string, string) SplitMerge(string line, string source)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && space < line.Length - 1 && line.IndexOf(' ', space + 1) < 0
            ? (line[..space], line[(space + 1)..])
            : throw Invalid(source, $"merge '{line}' is not two tokens separated by one space");
    }

    private static string TypeSuffix(JsonElement item) =>
        item.TryGetProperty("type_id", out var type) && type.ValueKind == JsonValueKind.Number && !(type.TryGetInt32(out int value) && value == 0)
            ? ":" + type.GetRawText()
            : "";

    private static bool SpecialPair(JsonElement post, string key, string content, int id)
        => post.TryGetProperty(key, out var pair) && pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2
           && pair[0].ValueKind == JsonValueKind.String && pair[0].GetString() == content
           && pair[1].ValueKind == JsonValueKind.Number && pair[1].TryGetInt32(out int value) && value == id;

    internal static bool Flag(JsonElement entry, string name)
        => entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    internal static JsonElement Required(JsonElement parent, string name, JsonValueKind kind, string source, string path)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var value) || value.ValueKind != kind)
        {
            throw Invalid(source, $"{path} is missing or not a JSON {kind.ToString().ToLowerInvariant()}");
        }

        return value;
    }

    internal static string RequiredString(JsonElement parent, string name, string source, string path)
        => Required(parent, name, JsonValueKind.String, source, path).GetString()!;

    internal static RerankException Invalid(string source, string what)
        => new(RerankErrorKind.InvalidModel, $"'{source}': {what}; replace it with the model's tokenizer.json.");

    private static RerankException Unsupported(string source, string what)
        => new(RerankErrorKind.UnsupportedModel, $"'{source}': {what}; only XLM-RoBERTa and DeBERTa-v2 SentencePiece tokenizers are supported.");
}
