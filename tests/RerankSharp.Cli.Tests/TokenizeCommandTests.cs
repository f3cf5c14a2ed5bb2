using System.Text.Json.Nodes;
using RerankSharp.Tests;
using RerankSharp.Tokenization;

namespace RerankSharp.Cli.Tests;

public class TokenizeCommandTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");

    private static int[] Ids(string line) => JsonNode.Parse(line)!["input_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();

    [Fact]
    public void Gives_the_ids_the_model_sees_for_texts_and_pairs_with_their_truncation()
    {
        var input = string.Join('\n',
            """{"text": "人工智能的发展趋势"}""",
            """{"query": "中国的首都是哪里?", "document": "北京是中国的政治中心和首都。"}""",
            """{"query": "a long query with many words in it", "document": "short", "max_length": 9}""",
            """{"query": "q", "document": "a much longer document that has to be cut", "max_length": 8, "truncation": "only_second"}""");

        var result = RerankProcess.Run(input, "tokenize", "--model", Model);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var tokenizer = XlmRobertaTokenizer.FromFiles(Path.Combine(Model, "sentencepiece.bpe.model"), Path.Combine(Model, "tokenizer.json"));
        var lines = result.StdoutLines;
        Assert.Equal(tokenizer.EncodeSingle("人工智能的发展趋势", 512), Ids(lines[0]));
        Assert.Equal(tokenizer.EncodePair("中国的首都是哪里?", "北京是中国的政治中心和首都。", 512), Ids(lines[1]));
        Assert.Equal(9, Ids(lines[2]).Length);
        Assert.Equal(tokenizer.EncodePair("q", "a much longer document that has to be cut", 8, TruncationStrategy.OnlySecond), Ids(lines[3]));
    }

    [Fact]
    public void Gives_the_ids_of_gte_pairs_from_the_xlmr_tokenizer()
    {
        var model = FixturePaths.Model("gte-a");
        var input = string.Join('\n',
            """{"query": "中国的首都是哪里?", "document": "北京是中国的政治中心和首都。"}""",
            """{"query": "what is panda?", "document": "The giant panda is a bear species endemic to China.", "max_length": 12}""");

        var result = RerankProcess.Run(input, "tokenize", "--model", model);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var tokenizer = PairTokenizer.Load(RerankSharp.Models.ModelFolder.Open(model));
        var lines = result.StdoutLines;
        var ids = Ids(lines[0]);
        Assert.Equal(tokenizer.EncodePair("中国的首都是哪里?", "北京是中国的政治中心和首都。", 512), ids);
        Assert.Equal([0, .. tokenizer.EncodeText("中国的首都是哪里?"), 2, 2], ids[..(tokenizer.EncodeText("中国的首都是哪里?").Length + 3)]);   // <s> q </s></s> d </s>
        Assert.Equal(12, Ids(lines[1]).Length);
    }

    [Theory]
    [InlineData("modernbert-a")]   // byte-level BPE with a TemplateProcessing post-processor
    [InlineData("deberta-a")]      // DeBERTa-v3's SentencePiece tokenizer.json
    public void Gives_the_ids_of_cls_query_sep_document_sep_pairs(string name)
    {
        var model = FixturePaths.Model(name);
        var input = string.Join('\n',
            """{"text": "The capital of France is [MASK]."}""",
            """{"query": "what is panda?", "document": "The giant panda is a bear species endemic to China."}""",
            """{"query": "what is panda?", "document": "The giant panda is a bear species endemic to China.", "max_length": 12}""");

        var result = RerankProcess.Run(input, "tokenize", "--model", model);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var tokenizer = PairTokenizer.Load(RerankSharp.Models.ModelFolder.Open(model));
        var lines = result.StdoutLines;
        Assert.Equal(tokenizer.EncodeSingle("The capital of France is [MASK].", 512), Ids(lines[0]));
        Assert.Equal(tokenizer.EncodePair("what is panda?", "The giant panda is a bear species endemic to China.", 512), Ids(lines[1]));
        Assert.Equal([tokenizer.BosId, .. tokenizer.EncodeText("what is panda?"), tokenizer.EosId], Ids(lines[1])[..(tokenizer.EncodeText("what is panda?").Length + 2)]);
        Assert.Equal(12, Ids(lines[2]).Length);
    }

    [Fact]
    public void A_line_that_cannot_be_truncated_as_asked_gets_an_error_line()
    {
        var input = """{"query": "a query far too long for the window", "document": "d", "max_length": 6, "truncation": "only_second"}""" + "\n" +
                    """{"text": "fine"}""" + "\n" + """{"text": "x", "truncation": "middle_out"}""";

        var result = RerankProcess.Run(input, "tokenize", "--model", Model);

        Assert.Equal(4, result.ExitCode);
        var lines = result.StdoutLines.Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.True(lines[0].ContainsKey("error"));
        Assert.True(lines[1].ContainsKey("input_ids"));
        Assert.Contains("truncation", lines[2]["error"]!.GetValue<string>());
    }

    [Fact]
    public void Gives_the_ids_of_bert_pairs_and_of_qwen3_prompts_with_their_instruction()
    {
        var bert = RerankProcess.Run("""{"query": "what is a panda?", "document": "A bear."}""" + "\n", "tokenize", "--model", FixturePaths.Model("bert-a"));
        var qwen = RerankProcess.Run("""{"query": "q", "document": "d", "instruction": "Find it"}""" + "\n", "tokenize", "--model", FixturePaths.Model("qwen3-a"));

        Assert.True(bert.ExitCode == 0 && qwen.ExitCode == 0, bert.Stderr + qwen.Stderr);
        var wordPiece = WordPieceTokenizer.FromTokenizerJson(Path.Combine(FixturePaths.Model("bert-a"), "tokenizer.json"));
        Assert.Equal(wordPiece.EncodePair("what is a panda?", "A bear.", 512), Ids(bert.StdoutLines[0]));
        var prompt = new Qwen3RerankerTokenizer(ByteLevelBpeTokenizer.FromTokenizerJson(Path.Combine(FixturePaths.Model("qwen3-a"), "tokenizer.json")));
        Assert.Equal(prompt.EncodeText(Qwen3RerankerTokenizer.Prefix + "<Instruct>: Find it\n<Query>: q\n<Document>: d" + Qwen3RerankerTokenizer.Suffix), Ids(qwen.StdoutLines[0]));
    }
}
