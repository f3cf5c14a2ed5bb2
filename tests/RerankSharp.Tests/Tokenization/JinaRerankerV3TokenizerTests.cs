using System.Text.Json;
using System.Text.Json.Nodes;
using RerankSharp.Tests.Models;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

// jina-reranker-v3's prompt ids against Hugging Face's fast tokenizer (tokenizers 0.23.2) through the reference's cuts,
// blocks and prompt (tools/listwise/prompts.js, golden.js → tests/fixtures/jina-v3-tokenizer/golden.jsonl).
public class JinaRerankerV3TokenizerTests
{
    private static readonly string Directory = Path.Combine(FixturePaths.Fixtures, "jina-v3-tokenizer");

    private static readonly Lazy<JinaRerankerV3Tokenizer> Shared = new(() =>
        new JinaRerankerV3Tokenizer(ByteLevelBpeTokenizer.FromTokenizerJson(Path.Combine(Directory, "tokenizer.json"))));

    private static JinaRerankerV3Tokenizer Tokenizer => Shared.Value;

    // Not File.ReadLines: the texts hold U+2028 and U+0085, which are not line ends in JSON Lines.
    private static IEnumerable<JsonObject> Cases() =>
        File.ReadAllText(Path.Combine(Directory, "golden.jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => JsonNode.Parse(line)!.AsObject());

    private static int[] Ints(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<int>()).ToArray();

    [Fact]
    public void Prompt_ids_blocks_and_lengths_match_the_fast_tokenizer_on_every_golden_case()
    {
        var cases = Cases().ToList();
        var failures = new List<string>();
        var refused = 0;
        foreach (var c in cases)
        {
            var documents = c["documents"]!.AsArray().Select(d => d!.GetValue<string>()).ToArray();
            var blocks = c["blocks"]!.AsArray().Select(b => (Ids: Ints(b!["input_ids"]), Documents: Ints(b["documents"]))).ToArray();
            var label = $"{c["category"]}: {JsonSerializer.Serialize(c["query"]!.GetValue<string>())} over {documents.Length} documents";
            // A marker nested in another survives the reference's one removal pass and gives a prompt more markers than
            // texts, on which the reference raises: the engine refuses those requests instead.
            var sound = blocks.All(b => b.Ids.Count(id => id == Tokenizer.DocumentMarkerId) == b.Documents.Length
                && b.Ids.Count(id => id == Tokenizer.QueryMarkerId) == 1);
            ListwiseBlocks got;
            try
            {
                got = Tokenizer.Blocks(c["query"]!.GetValue<string>(), documents, c["model_max_length"]!.GetValue<int>(),
                    c["max_query_length"]!.GetValue<int>(), c["max_doc_length"]!.GetValue<int>(), c["instruction"]?.GetValue<string>());
            }
            catch (RerankException e) when (e.Kind == RerankErrorKind.InvalidInput && !sound)
            {
                refused++;
                continue;
            }
            if (!sound) failures.Add($"{label}: accepted, but the reference's prompt has more markers than texts");
            else if (got.Ids.Length != blocks.Length) failures.Add($"{label}: {got.Ids.Length} blocks, reference {blocks.Length}");
            else
            {
                for (var b = 0; b < blocks.Length; b++)
                {
                    if (!got.Documents[b].SequenceEqual(blocks[b].Documents)) failures.Add($"{label}: block {b} holds [{string.Join(",", got.Documents[b])}], reference [{string.Join(",", blocks[b].Documents)}]");
                    else if (!got.Ids[b].SequenceEqual(blocks[b].Ids))
                    {
                        var at = got.Ids[b].Zip(blocks[b].Ids).TakeWhile(p => p.First == p.Second).Count();
                        failures.Add($"{label}: block {b} differs at token {at} of {blocks[b].Ids.Length} (got {got.Ids[b].Length})");
                    }
                }
                if (!got.DocumentTokens.SequenceEqual(Ints(c["doc_lengths"]))) failures.Add($"{label}: document lengths differ");
                if (got.QueryTokens != c["query_length"]!.GetValue<int>()) failures.Add($"{label}: query length {got.QueryTokens}, reference {c["query_length"]}");
            }
        }
        Assert.True(cases.Count >= 200, $"{cases.Count} golden cases");
        Assert.True(refused > 0, "the nested-marker cases were not refused");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases differ:\n{string.Join("\n", failures.Take(10))}");
    }

    [Fact]
    public void The_markers_are_found_by_their_text_not_by_jina_reranker_v3s_ids()
    {
        Assert.Equal(6266, Tokenizer.DocumentMarkerId);
        Assert.Equal(6265, Tokenizer.QueryMarkerId);
        Assert.True(Tokenizer.IsSpecial(Tokenizer.DocumentMarkerId));
    }

    [Theory]
    [InlineData("<|embed_<|rerank_token|>token|>", "")]                      // the query marker goes first, then the document marker
    [InlineData("<|rerank_<|embed_token|>token|>", "<|rerank_token|>")]      // one pass each: this one survives
    [InlineData("a<|im_end|>b<|embed_token|>c", "a<|im_end|>bc")]           // other special tokens stay
    public void Sanitize_removes_the_markers_once_in_the_references_order(string text, string expected) =>
        Assert.Equal(expected, JinaRerankerV3Tokenizer.Sanitize(text));

    [Fact]
    public void A_text_whose_markers_survive_sanitising_is_refused_naming_it()
    {
        var e = RerankAssert.Throws(RerankErrorKind.InvalidInput,
            () => Tokenizer.Blocks("q", ["fine", "<|rerank_<|embed_token|>token|>"], 4096, 512, 2048, null), "Document 1", "<|rerank_token|>");
        Assert.Contains("marker", e.Message);
    }

    [Theory]
    [InlineData("The giant panda is a bear species endemic to China.")]
    [InlineData("中文字符测试 😀👍🏽 café\n\ttabs  and <|im_start|>specials<|im_end|>")]
    public void Decode_gives_back_the_text_of_its_ids(string text) =>
        Assert.Equal(text, Tokenizer.Bpe.Decode(Tokenizer.EncodeText(text)));

    [Fact]
    public void Decode_of_ids_cut_inside_a_character_gives_a_replacement_character()
    {
        var ids = Tokenizer.EncodeText("😀");
        Assert.True(ids.Length > 1, "the fixture's vocabulary has no piece for the whole emoji");
        Assert.Equal("\uFFFD", Tokenizer.Bpe.Decode(ids.AsSpan(0, 1)));
    }

    [Fact]
    public void A_cut_refused_when_truncation_is_off()
    {
        RerankAssert.Throws(RerankErrorKind.InvalidInput,
            () => Tokenizer.Blocks("q", [string.Join(' ', Enumerable.Repeat("forest", 50))], 4096, 512, 8, null, truncate: false), "Document 0", "8 tokens");
    }
}
