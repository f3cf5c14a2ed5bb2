using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class TokenizerConfigTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Write(string json) => _directory.Write("tokenizer_config.json", json);

    [Fact]
    public void Load_BgeRerankerV2M3TokenizerConfig_ReadsLengthClassAndTokens()
    {
        TokenizerConfig config = TokenizerConfig.Load(Write(TinyModel.BgeRerankerV2M3TokenizerConfig));

        Assert.Equal(8192, config.ModelMaxLength);
        Assert.Equal("XLMRobertaTokenizer", config.TokenizerClass);
        Assert.Equal("<s>", config.BosToken);
        Assert.Equal("</s>", config.EosToken);
        Assert.Equal("<unk>", config.UnkToken);
        Assert.Equal("</s>", config.SepToken);
        Assert.Equal("<pad>", config.PadToken);
        Assert.Equal("<s>", config.ClsToken);
        Assert.Equal("<mask>", config.MaskToken);
    }

    [Theory]
    [InlineData("1000000000000000019884624838656")]
    [InlineData("1e+30")]
    [InlineData("1e30")]
    [InlineData("2147483648")]
    public void Load_NoLimitSentinel_MeansNoModelMaxLength(string value)
    {
        TokenizerConfig config = TokenizerConfig.Load(Write($$"""{"model_max_length": {{value}}}"""));

        Assert.Null(config.ModelMaxLength);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"model_max_length": null}""")]
    public void Load_NoModelMaxLength_LeavesItNull(string json)
    {
        Assert.Null(TokenizerConfig.Load(Write(json)).ModelMaxLength);
    }

    [Theory]
    [InlineData("512", 512)]
    [InlineData("512.0", 512)]
    [InlineData("2147483647", int.MaxValue - 0)]
    public void Load_IntegralModelMaxLength_IsKept(string value, int expected)
    {
        Assert.Equal(expected, TokenizerConfig.Load(Write($$"""{"model_max_length": {{value}}}""")).ModelMaxLength);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("512.5")]
    [InlineData("\"512\"")]
    public void Load_ModelMaxLengthNotPositiveInteger_IsInvalid(string value)
    {
        string path = Write($$"""{"model_max_length": {{value}}}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => TokenizerConfig.Load(path),
            path, "\"model_max_length\" must be a positive integer", "re-download the model");
    }

    [Fact]
    public void Load_TokenNeitherStringNorAddedToken_IsInvalid()
    {
        string path = Write("""{"pad_token": 1}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => TokenizerConfig.Load(path),
            "\"pad_token\" must be a string or an object with \"content\"");
    }

    [Fact]
    public void Load_NotJson_ReportsFileLineAndPosition()
    {
        string path = Write("{\n\"model_max_length\": 512 512}");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => TokenizerConfig.Load(path),
            $"{path} is not valid JSON (line 2", "fix tokenizer_config.json or re-download");
    }

    [Fact]
    public void Load_MissingFile_IsModelNotFound()
    {
        string path = _directory.PathOf("tokenizer_config.json");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => TokenizerConfig.Load(path),
            $"Tokenizer config not found: {path} does not exist.");
    }

    [Fact]
    public void Load_KeyEscapingALoneSurrogate_IsInvalidModel()
    {
        // Found by fuzzing: "bo\ud800s_token" made the lookup of the next token key throw InvalidOperationException.
        string path = _directory.Write("tokenizer_config.json", "{\"model_max_length\": 512, \"bo\\ud800s_token\": {\"content\": \"<s>\"}}");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => TokenizerConfig.Load(path), path, "lone UTF-16 surrogate");
    }
}
