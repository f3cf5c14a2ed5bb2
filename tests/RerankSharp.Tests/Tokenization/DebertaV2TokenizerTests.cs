using System.Text.Json.Nodes;
using RerankSharp.Tokenization;
using Xunit.Abstractions;

namespace RerankSharp.Tests.Tokenization;

/// <summary>
/// DeBERTa-v3's kind of tokenizer.json (mxbai-rerank-v1: SentencePiece Unigram as transformers' DebertaV2Converter writes
/// it — Strip, Precompiled, Replace; Sequence[Metaspace]; [CLS] A [SEP] B:1 [SEP]:1) against Hugging Face's fast tokenizer:
/// tests/fixtures/deberta-tokenizer/golden.jsonl (tools/tokenizer/golden_deberta.js); its golden_offsets.jsonl is checked
/// by <see cref="GoldenOffsetsTests"/>.
/// </summary>
public sealed class DebertaV2TokenizerTests(ITestOutputHelper output)
{
    private static string Folder => Path.Combine(FixturePaths.Fixtures, "deberta-tokenizer");

    private static XlmRobertaTokenizer Load() =>
        Assert.IsType<XlmRobertaTokenizer>(PairTokenizer.FromAnyTokenizerJson(Path.Combine(Folder, "tokenizer.json")));

    [Fact]
    public void Every_golden_case_has_the_fast_tokenizers_ids_and_token_types() =>
        WordPieceTokenizerTests.AssertEveryCase(Load(), Path.Combine(Folder, "golden.jsonl"), "deberta-tokenizer", 1000, output.WriteLine);

    [Fact]
    public void The_pair_is_cls_query_sep_document_sep_and_the_document_is_segment_one()
    {
        var tokenizer = Load();

        var ids = tokenizer.EncodePair("what is panda?", "The giant panda is a bear.", 512);
        var types = new long[ids.Length + 2];
        tokenizer.TokenTypeIds([.. ids.Select(i => (long)i), tokenizer.PadId, tokenizer.PadId], types);

        var query = tokenizer.EncodeText("what is panda?");
        Assert.Equal([1, .. query, 2, .. tokenizer.EncodeText("The giant panda is a bear."), 2], ids);
        Assert.Equal((1, 2, 0, 3), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.PairSpecialTokens));
        Assert.Equal(query.Length + 2, types.Count(t => t == 0));
        Assert.True(tokenizer.IsDebertaV2);
    }

    [Fact]
    public void Whitespace_next_to_a_special_token_is_stripped_as_the_strip_normaliser_does()
    {
        var tokenizer = Load();

        Assert.Equal(tokenizer.EncodeText("a[SEP]b"), tokenizer.EncodeText("a  [SEP]\tb"));
        Assert.Empty(tokenizer.EncodeText(" \u3000\n"));
    }

    [Theory]
    [InlineData("pre_tokenizer", """{"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Isolated"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}]}""", "Sequence of 2 steps")]
    [InlineData("normalizer", """{"type": "Sequence", "normalizers": [{"type": "Lowercase"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}""", "normalizer.normalizers[0] (Lowercase)")]
    public void A_deberta_option_the_pipeline_does_not_reproduce_is_refused_naming_the_key(string key, string value, string expected)
    {
        using var temp = new RerankSharp.Tests.Models.TempDirectory();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "tokenizer.json")))!;
        json[key] = JsonNode.Parse(value);
        var path = temp.Write("tokenizer.json", json.ToJsonString());

        var e = Assert.Throws<RerankException>(() => PairTokenizer.FromAnyTokenizerJson(path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_folder_with_spm_model_and_no_tokenizer_json_is_refused_asking_for_tokenizer_json()
    {
        using var temp = RerankSharp.Tests.Models.TempDirectory.CopyOf(FixturePaths.Model("deberta-a"));
        temp.Delete("tokenizer.json");

        var e = Assert.Throws<RerankException>(() => RerankSharp.Models.ModelFolder.Open(temp.Path));

        Assert.Equal(RerankErrorKind.UnsupportedModel, e.Kind);
        Assert.Contains("spm.model but no tokenizer.json", e.Message);
        Assert.Contains("Supply the model's tokenizer.json", e.Message);
    }
}
