using System.Text.Json.Nodes;
using Google.Protobuf;
using RerankSharp.Tokenization;
using RerankSharp.Tokenization.Proto;

namespace RerankSharp.Tests.Tokenization;

public sealed class TokenizerLoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rerank-tokenizer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void FromFilesPrefersTokenizerJson()
    {
        string json = Write("tokenizer.json", MutatedJson(j => j["added_tokens"]![4]!["lstrip"] = false));
        var tokenizer = XlmRobertaTokenizer.FromFiles(TokenizerFixtures.ModelPath, json);
        // With lstrip off, the space before <mask> becomes a "▁" of its own: the JSON was read, not the model.
        Assert.Equal(["▁a", "▁", "<mask>"], tokenizer.ToPieces(tokenizer.EncodeText("a <mask>")));
    }

    [Fact]
    public void FromFilesFallsBackToTheSentencePieceModel()
    {
        var tokenizer = XlmRobertaTokenizer.FromFiles(TokenizerFixtures.ModelPath, Path.Combine(_dir, "missing.json"));
        Assert.Equal(16002, tokenizer.VocabSize);
    }

    [Fact]
    public void MissingFilesAreModelNotFound()
    {
        string missing = Path.Combine(_dir, "nothing");
        Assert.Equal(RerankErrorKind.ModelNotFound, Assert.Throws<RerankException>(() => XlmRobertaTokenizer.FromSentencePieceModel(missing)).Kind);
        Assert.Equal(RerankErrorKind.ModelNotFound, Assert.Throws<RerankException>(() => XlmRobertaTokenizer.FromTokenizerJson(missing)).Kind);
        Assert.Equal(RerankErrorKind.ModelNotFound, Assert.Throws<RerankException>(() => XlmRobertaTokenizer.FromFiles(missing, missing)).Kind);
        Assert.Equal(RerankErrorKind.ModelNotFound, Assert.Throws<RerankException>(() => XlmRobertaTokenizer.FromFiles(null, null)).Kind);
    }

    [Fact]
    public void CorruptSentencePieceModelIsInvalidModel()
    {
        // tokenizer.json is not protobuf; an empty file parses as a model with no pieces.
        AssertFails(RerankErrorKind.InvalidModel, () => XlmRobertaTokenizer.FromSentencePieceModel(TokenizerFixtures.JsonPath));
        AssertFails(RerankErrorKind.InvalidModel, () => XlmRobertaTokenizer.FromSentencePieceModel(Write("empty.model", "")));
    }

    [Fact]
    public void SentencePieceModelOfAnotherKindIsUnsupported()
    {
        using var stream = File.OpenRead(TokenizerFixtures.ModelPath);
        var proto = ModelProto.Parser.ParseFrom(stream);
        proto.TrainerSpec.ModelType = TrainerSpec.Types.ModelType.Bpe;
        string bpe = Path.Combine(_dir, "bpe.model");
        File.WriteAllBytes(bpe, proto.ToByteArray());
        AssertFails(RerankErrorKind.UnsupportedModel, () => XlmRobertaTokenizer.FromSentencePieceModel(bpe), "Unigram");

        proto.TrainerSpec.ModelType = TrainerSpec.Types.ModelType.Unigram;
        proto.TrainerSpec.PadId = 3;
        File.WriteAllBytes(bpe, proto.ToByteArray());
        AssertFails(RerankErrorKind.UnsupportedModel, () => XlmRobertaTokenizer.FromSentencePieceModel(bpe), "0/1/2/-1");
    }

    [Fact]
    public void OlderTokenizerJsonFormsGiveTheSameIds()
    {
        // tokenizers < 0.19 wrote add_prefix_space, and older converters RobertaProcessing.
        string json = Write("old.json", MutatedJson(j =>
        {
            j["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["add_prefix_space"] = true };
            j["post_processor"] = new JsonObject
            {
                ["type"] = "RobertaProcessing",
                ["sep"] = new JsonArray("</s>", 2),
                ["cls"] = new JsonArray("<s>", 0),
                ["trim_offsets"] = true,
                ["add_prefix_space"] = true,
            };
        }));
        var old = XlmRobertaTokenizer.FromTokenizerJson(json);
        Assert.Equal(TokenizerFixtures.FromJson.EncodePair("what is panda?", "a bear ", 512), old.EncodePair("what is panda?", "a bear ", 512));
    }

    public static TheoryData<string, string, RerankErrorKind, string> BadJson => new()
    {
        { "model.type", "\"BPE\"", RerankErrorKind.UnsupportedModel, "model.type is 'BPE'" },
        { "model.vocab", "null", RerankErrorKind.InvalidModel, "model.vocab" },
        { "model.vocab", """[["a", "x"]]""", RerankErrorKind.InvalidModel, "model.vocab[0]" },
        { "model.unk_id", "999999", RerankErrorKind.InvalidModel, "model.unk_id" },
        { "model.byte_fallback", "true", RerankErrorKind.UnsupportedModel, "byte_fallback" },
        { "normalizer", "null", RerankErrorKind.UnsupportedModel, "normalizer" },
        { "normalizer.normalizers.1", """{"type":"Strip","left":false,"right":true}""", RerankErrorKind.UnsupportedModel, "Strip" },
        { "normalizer.normalizers.0.precompiled_charsmap", "\"not base64!\"", RerankErrorKind.InvalidModel, "base64" },
        { "normalizer.normalizers.0.precompiled_charsmap", "\"AAAA\"", RerankErrorKind.InvalidModel, "precompiled_charsmap" },
        { "pre_tokenizer", """{"type":"Whitespace"}""", RerankErrorKind.UnsupportedModel, "Metaspace" },
        { "pre_tokenizer.prepend_scheme", "\"first\"", RerankErrorKind.UnsupportedModel, "prepend" },
        { "post_processor", """{"type":"BertProcessing"}""", RerankErrorKind.UnsupportedModel, "BertProcessing" },
        { "post_processor.pair", """[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}},{"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"</s>","type_id":1}}]""", RerankErrorKind.UnsupportedModel, "template" },
        { "added_tokens", "[]", RerankErrorKind.UnsupportedModel, "'<s>'" },
        { "added_tokens.4.normalized", "true", RerankErrorKind.UnsupportedModel, "normalized" },
        // Found by fuzzing: elements of the wrong kind made JsonElement throw InvalidOperationException.
        { "added_tokens.0.id", "\"0\"", RerankErrorKind.InvalidModel, "added_tokens[0].id" },
        { "post_processor.single", "[[]]", RerankErrorKind.InvalidModel, "post_processor.single" },
        { "post_processor.single", """[{"SpecialToken":[]}]""", RerankErrorKind.InvalidModel, "post_processor.single" },
        { "post_processor.special_tokens.<s>", "[]", RerankErrorKind.UnsupportedModel, "special_tokens['<s>']" },
        { "normalizer", "7", RerankErrorKind.InvalidModel, "normalizer.type" },
    };

    [Theory]
    [MemberData(nameof(BadJson))]
    public void BadTokenizerJsonFailsNamingTheKey(string path, string value, RerankErrorKind kind, string mentioned)
    {
        string json = Write("bad.json", MutatedJson(j => Set(j, path, JsonNode.Parse(value))));
        AssertFails(kind, () => XlmRobertaTokenizer.FromTokenizerJson(json), mentioned);
    }

    // Found by fuzzing the WordPiece and byte-level BPE readers (fuzz/corpus/tokenizer-json/crash-*-bpe-campaign):
    // each was an ArgumentException, KeyNotFoundException, InvalidOperationException or RegexParseException.
    [Theory]
    [InlineData("bpe", "added_tokens", "[{\"id\": 0, \"content\": \"<x>\", \"special\": true}]", RerankErrorKind.InvalidModel, "more than one token")]
    [InlineData("bpe", "model.merges", "[[1, 2]]", RerankErrorKind.InvalidModel, "neither")]
    [InlineData("bpe", "pre_tokenizer.pretokenizers", "[5, {\"type\": \"ByteLevel\"}]", RerankErrorKind.UnsupportedModel, "pre_tokenizer")]
    [InlineData("bpe", "pre_tokenizer.pretokenizers.0.pattern", "{\"Regex\": \"[a\"}", RerankErrorKind.UnsupportedModel, "regex")]
    [InlineData("bpe", "added_tokens", "[{\"content\": \"<x>\", \"special\": true}]", RerankErrorKind.InvalidModel, "")]
    [InlineData("wordpiece/uncased", "post_processor", "{\"type\": \"TemplateProcessing\", \"pair\": [1, 2, 3, 4, 5], \"single\": []}", RerankErrorKind.InvalidModel, "")]
    public void AMalformedWordPieceOrBpeTokenizerJsonIsRefusedNotACrash(string fixture, string path, string value, RerankErrorKind kind, string mentioned)
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(FixturePaths.Fixtures, fixture, "tokenizer.json")))!;
        Set(root, path, JsonNode.Parse(value));

        var e = Assert.Throws<RerankException>(() => PairTokenizer.FromAnyTokenizerJson(Write("bad.json", root.ToJsonString())));
        Assert.True(e.Kind is RerankErrorKind.InvalidModel or RerankErrorKind.UnsupportedModel, $"{e.Kind}: {e.Message}");
        if (mentioned.Length > 0) Assert.Equal(kind, e.Kind);
        Assert.Contains(mentioned, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TokenizerJsonThatIsNotJsonIsInvalidModel()
    {
        AssertFails(RerankErrorKind.InvalidModel, () => XlmRobertaTokenizer.FromTokenizerJson(Write("broken.json", "{\"model\": ")));
        AssertFails(RerankErrorKind.InvalidModel, () => XlmRobertaTokenizer.FromTokenizerJson(Write("array.json", "[]")));
    }

    private static void AssertFails(RerankErrorKind kind, Action load, string? mentioned = null)
    {
        var e = Assert.Throws<RerankException>(load);
        Assert.Equal(kind, e.Kind);
        Assert.DoesNotContain('\n', e.Message);
        if (mentioned is not null)
        {
            Assert.Contains(mentioned, e.Message);
        }
    }

    private static string MutatedJson(Action<JsonNode> mutate)
    {
        var root = JsonNode.Parse(File.ReadAllText(TokenizerFixtures.JsonPath))!;
        mutate(root);
        return root.ToJsonString();
    }

    private static void Set(JsonNode root, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        JsonNode node = root;
        foreach (var part in parts[..^1])
        {
            node = int.TryParse(part, out int index) ? node[index]! : node[part]!;
        }

        if (int.TryParse(parts[^1], out int last))
        {
            node[last] = value;
        }
        else
        {
            node[parts[^1]] = value;
        }
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void TokenizerJsonWithInvalidUtf8OrALoneSurrogateEscapeIsInvalidModel()
    {
        // Found by fuzzing: both parsed, and the first string read threw InvalidOperationException.
        var json = File.ReadAllBytes(TokenizerFixtures.JsonPath);
        var at = json.AsSpan().IndexOf("\"Metaspace\""u8);
        var invalid = json.ToArray();
        invalid[at + 2] = 0xFF;
        var escaped = System.Text.Encoding.UTF8.GetString(json).Replace("\"Metaspace\"", "\"Meta\\ud800space\"");

        AssertFails(RerankErrorKind.InvalidModel, () => XlmRobertaTokenizer.FromTokenizerJson(WriteBytes("invalid.json", invalid)), "not UTF-8");
        AssertFails(RerankErrorKind.InvalidModel, () => XlmRobertaTokenizer.FromTokenizerJson(Write("escaped.json", escaped)), "lone UTF-16 surrogate");
    }

    [Theory]
    [InlineData("tokenizer")]
    [InlineData("wordpiece/uncased")]
    [InlineData("bpe")]
    public void ATokenizerJsonOfAnyFamilyWithInvalidUtf8OrALoneSurrogateEscapeIsInvalidModel(string fixture)
    {
        // Found by replaying the fuzz corpus through the loader of every family (PairTokenizer), which had parsed
        // tokenizer.json without the UTF-8 check of the XLM-R loader.
        var json = File.ReadAllBytes(Path.Combine(FixturePaths.Fixtures, fixture, "tokenizer.json"));
        var at = json.AsSpan().IndexOf("\"type\""u8);
        var invalid = json.ToArray();
        invalid[at + 2] = 0xFF;
        var escaped = System.Text.Encoding.UTF8.GetString(json).Replace("\"type\"", "\"ty\\ud800pe\"");

        AssertFails(RerankErrorKind.InvalidModel, () => PairTokenizer.FromAnyTokenizerJson(WriteBytes("invalid.json", invalid)), "not UTF-8");
        AssertFails(RerankErrorKind.InvalidModel, () => PairTokenizer.FromAnyTokenizerJson(Write("escaped.json", escaped)), "lone UTF-16 surrogate");
    }

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
