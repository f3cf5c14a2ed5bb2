using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class ModelFolderTests
{
    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    private static void ReplaceWeightsWithTwoShards(TempDirectory folder)
    {
        folder.Delete("model.safetensors");
        new SafetensorsBuilder().AddF32("a", [2], 1f, 2f).WriteTo(folder, Shard2);
        new SafetensorsBuilder().AddF32("b", [1], 3f).WriteTo(folder, Shard1);
        folder.Write("model.safetensors.index.json",
            $$$"""{"metadata": {"total_size": 12}, "weight_map": {"a": "{{{Shard2}}}", "b": "{{{Shard1}}}"}}""");
    }

    [Fact]
    public void Open_CompleteFolder_FindsEveryFileAndParsesTheConfig()
    {
        using TempDirectory folder = TinyModel.Folder();

        ModelFolder model = ModelFolder.Open(folder.Path);

        Assert.Equal(folder.Path, model.Directory);
        Assert.Equal(folder.PathOf("config.json"), model.ConfigPath);
        Assert.Equal(8, model.Config.HiddenSize);
        Assert.Equal([folder.PathOf("model.safetensors")], model.WeightFiles);
        Assert.Null(model.WeightIndexPath);
        Assert.Equal(folder.PathOf("sentencepiece.bpe.model"), model.SentencePieceModelPath);
        Assert.Null(model.TokenizerJsonPath);
        Assert.Null(model.TokenizerConfig);
        Assert.Null(model.TokenizerConfigPath);
    }

    [Fact]
    public void Open_RelativePathWithTrailingSeparator_GivesTheFullPath()
    {
        using TempDirectory folder = TinyModel.Folder();
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, folder.Path) + Path.DirectorySeparatorChar;

        Assert.Equal(folder.Path, ModelFolder.Open(relative).Directory);
    }

    [Fact]
    public void Open_TokenizerConfigPresent_IsRead()
    {
        using TempDirectory folder = TinyModel.Folder();
        string path = folder.Write("tokenizer_config.json", TinyModel.BgeRerankerV2M3TokenizerConfig);

        ModelFolder model = ModelFolder.Open(folder.Path);

        Assert.Equal(8192, model.TokenizerConfig?.ModelMaxLength);
        Assert.Equal(path, model.TokenizerConfigPath);
    }

    [Fact]
    public void Open_TokenizerJsonOnly_IsEnough()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Delete("sentencepiece.bpe.model");
        folder.Write("tokenizer.json", "{}");

        ModelFolder model = ModelFolder.Open(folder.Path);

        Assert.Null(model.SentencePieceModelPath);
        Assert.Equal(folder.PathOf("tokenizer.json"), model.TokenizerJsonPath);
    }

    [Fact]
    public void Open_NoTokenizer_IsModelNotFound()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Delete("sentencepiece.bpe.model");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.Path),
            $"Tokenizer not found: {folder.Path} has neither sentencepiece.bpe.model nor tokenizer.json.",
            "Pass a folder that holds config.json and model.safetensors");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Open_EmptyPath_IsModelNotFound(string path)
    {
        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(path), "Model path is empty.", "or a hub id.");
    }

    [Fact]
    public void Open_PathThatDoesNotExist_SaysSo()
    {
        using var parent = new TempDirectory();
        string path = parent.PathOf("bge-reranker-v2-m3");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(path),
            $"Model folder not found: {path} does not exist. Pass a folder that holds config.json and model.safetensors (as published on the Hugging Face hub), or a hub id.");
    }

    [Fact]
    public void Open_PathOfAModelFile_PointsToItsFolder()
    {
        using TempDirectory folder = TinyModel.Folder();

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.PathOf("model.safetensors")),
            $"Model path {folder.PathOf("model.safetensors")} is a file, not a folder. Pass the folder that holds it: {folder.Path}.");
    }

    [Fact]
    public void Open_PathOfAnotherFile_IsNotAFolder()
    {
        using var parent = new TempDirectory();
        string path = parent.Write("notes.txt", "hello");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(path),
            $"Model path {path} is a file, not a folder.", "Pass a folder that holds config.json");
    }

    [Fact]
    public void Open_NoConfig_IsModelNotFound()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Delete("config.json");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.Path),
            $"Model config not found: {folder.Path} has no config.json. Pass a folder that holds config.json and model.safetensors");
    }

    [Fact]
    public void Open_RootOfAHubCacheEntry_PointsToItsSnapshots()
    {
        using var cache = new TempDirectory();
        cache.Write("snapshots/abc123/config.json", "{}");
        cache.Write("refs/main", "abc123");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(cache.Path),
            "looks like a Hugging Face cache folder. Pass one of its snapshots/<revision> folders, or the hub id.");
    }

    [Fact]
    public void Open_NoWeights_IsModelNotFound()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Delete("model.safetensors");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.Path),
            $"Model weights not found: {folder.Path} has no model.safetensors or model.safetensors.index.json. Pass a folder that holds config.json and model.safetensors (as published on the Hugging Face hub), or a hub id.");
    }

    [Theory]
    [InlineData("pytorch_model.bin")]
    [InlineData("pytorch_model.bin.index.json")]
    public void Open_PyTorchWeightsOnly_SaysSafetensorsIsRequiredAndHowToConvert(string name)
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Delete("model.safetensors");
        folder.Write(name, [0x50, 0x4B, 0x03, 0x04]);

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.Path),
            $"Model weights in {folder.Path} are only in PyTorch format ({name}); RerankSharp requires safetensors",
            "Download model.safetensors from the Hugging Face hub, or convert once in Python",
            ".save_pretrained(");
    }

    [Fact]
    public void Open_ShardedWeights_ListsTheShardsInOrder()
    {
        using TempDirectory folder = TinyModel.Folder();
        ReplaceWeightsWithTwoShards(folder);

        ModelFolder model = ModelFolder.Open(folder.Path);

        Assert.Equal([folder.PathOf(Shard1), folder.PathOf(Shard2)], model.WeightFiles);
        Assert.Equal(folder.PathOf("model.safetensors.index.json"), model.WeightIndexPath);
        using SafetensorsStore store = SafetensorsStore.Open(model);
        Assert.Equal([1f, 2f], store.ReadAsFloat32("a"));
    }

    [Fact]
    public void Open_ShardMissing_SaysTheDownloadIsIncomplete()
    {
        using TempDirectory folder = TinyModel.Folder();
        ReplaceWeightsWithTwoShards(folder);
        folder.Delete(Shard2);

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.Path),
            $"{Shard2} not found in {folder.Path}; the download looks incomplete; re-download it.");
    }

    [Fact]
    public void Open_AllShardsMissing_NamesThemAll()
    {
        using TempDirectory folder = TinyModel.Folder();
        ReplaceWeightsWithTwoShards(folder);
        folder.Delete(Shard1);
        folder.Delete(Shard2);

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.Path),
            $"{Shard1} and {Shard2} not found in {folder.Path}; the download looks incomplete; re-download them.");
    }

    [Fact]
    public void Open_IndexNotJson_IsInvalidModel()
    {
        using TempDirectory folder = TinyModel.Folder();
        ReplaceWeightsWithTwoShards(folder);
        string index = folder.Write("model.safetensors.index.json", "{\"weight_map\": {");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelFolder.Open(folder.Path), $"{index} is not valid JSON");
    }

    [Fact]
    public void Open_SingleFileAndIndexBoth_PrefersTheSingleFileAsTransformersDoes()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Write("model.safetensors.index.json", "not even JSON");

        ModelFolder model = ModelFolder.Open(folder.Path);

        Assert.Equal([folder.PathOf("model.safetensors")], model.WeightFiles);
        Assert.Null(model.WeightIndexPath);
    }

    [Fact]
    public void Open_InvalidConfig_IsInvalidModel()
    {
        var keys = TinyModel.ConfigKeys();
        keys["num_attention_heads"] = 3;
        using TempDirectory folder = TinyModel.Folder(keys);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelFolder.Open(folder.Path),
            folder.PathOf("config.json"), "hidden_size 8 is not divisible by num_attention_heads 3");
    }

    [Fact]
    public void Open_InvalidTokenizerConfig_IsInvalidModel()
    {
        using TempDirectory folder = TinyModel.Folder();
        string path = folder.Write("tokenizer_config.json", "{\"model_max_length\": \"long\"}");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => ModelFolder.Open(folder.Path), path, "\"model_max_length\"");
    }

    [Fact]
    public void Open_HubCacheSnapshotOfSymbolicLinks_FollowsThem()
    {
        // The hub cache stores files as blobs/<hash> and links snapshots/<rev>/<name> to them.
        using TempDirectory source = TinyModel.Folder();
        using var snapshot = new TempDirectory();
        foreach (string name in new[] { "config.json", "model.safetensors", "sentencepiece.bpe.model" })
            File.CreateSymbolicLink(snapshot.PathOf(name), source.PathOf(name));

        ModelFolder model = ModelFolder.Open(snapshot.Path);
        ModelSummary summary = model.Summarize();

        Assert.Equal(new FileInfo(source.PathOf("model.safetensors")).Length,
            summary.Files.Single(file => file.Name == "model.safetensors").Bytes);
    }

    [Fact]
    public void Open_BrokenSymbolicLinkForWeights_CountsAsMissing()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Delete("model.safetensors");
        File.CreateSymbolicLink(folder.PathOf("model.safetensors"), folder.PathOf("blob-that-was-never-downloaded"));

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => ModelFolder.Open(folder.Path), "Model weights not found");
    }

    [Fact]
    public void DefaultMaxLength_BgeRerankerV2M3_Is8192()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Write("config.json", TinyModel.BgeRerankerV2M3Config);
        folder.Write("tokenizer_config.json", TinyModel.BgeRerankerV2M3TokenizerConfig);

        Assert.Equal(8192, ModelFolder.Open(folder.Path).DefaultMaxLength);
    }

    [Fact]
    public void DefaultMaxLength_WithoutTokenizerConfig_IsPositionsMinusTwo()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Write("config.json", TinyModel.BgeRerankerV2M3Config);

        Assert.Equal(8192, ModelFolder.Open(folder.Path).DefaultMaxLength);
    }

    [Theory]
    [InlineData(null, 1, 18)]        // no tokenizer_config: max_position_embeddings - 2
    [InlineData("{}", 1, 18)]        // no model_max_length
    [InlineData("{\"model_max_length\": 1000000000000000019884624838656}", 1, 18)]  // "no limit" sentinel
    [InlineData("{\"model_max_length\": 12}", 1, 12)]   // the tokenizer's own limit
    [InlineData("{\"model_max_length\": 512}", 1, 18)]  // more than the position table holds: capped
    [InlineData("{\"model_max_length\": 512}", 5, 14)]  // the cap follows pad_token_id: 20 - 5 - 1
    [InlineData(null, 5, 14)]        // the fallback is capped too
    [InlineData(null, 0, 18)]        // pad 0 leaves 19 positions, but the fallback is still 20 - 2
    public void DefaultMaxLength_FollowsTokenizerConfigWithinThePositionTable(string? tokenizerConfig, int padTokenId, int expected)
    {
        var keys = TinyModel.ConfigKeys();   // max_position_embeddings 20
        keys["pad_token_id"] = padTokenId;
        using TempDirectory folder = TinyModel.Folder(keys);
        if (tokenizerConfig is not null)
            folder.Write("tokenizer_config.json", tokenizerConfig);

        Assert.Equal(expected, ModelFolder.Open(folder.Path).DefaultMaxLength);
    }

    [Fact]
    public void Summarize_ListsFilesSizesParametersAndDTypes()
    {
        using TempDirectory folder = TinyModel.Folder();
        folder.Write("README.md", "# tiny");

        ModelSummary summary = ModelFolder.Open(folder.Path).Summarize();

        Assert.Equal(folder.Path, summary.Directory);
        Assert.Equal("xlm-roberta", summary.Config.ModelType);
        Assert.Equal(18, summary.DefaultMaxLength);
        Assert.Equal(["README.md", "config.json", "model.safetensors", "sentencepiece.bpe.model"], summary.Files.Select(file => file.Name));
        Assert.Equal(6, summary.Files[0].Bytes);
        Assert.Equal(new FileInfo(folder.PathOf("model.safetensors")).Length, summary.Files[2].Bytes);
        Assert.Equal(summary.Files.Sum(file => file.Bytes), summary.FileBytes);
        Assert.Equal(5, summary.TensorCount);
        Assert.Equal(80 + 160 + 8 + 1 + 20, summary.ParameterCount);
        Assert.Equal(320 + 640 + 16 + 2 + 160, summary.TensorBytes);
        Assert.Equal(
            [new TensorDTypeSummary(TensorDType.F32, 2, 240, 960),
             new TensorDTypeSummary(TensorDType.F16, 2, 9, 18),
             new TensorDTypeSummary(TensorDType.I64, 1, 20, 160)],
            summary.DTypes);
    }

    [Fact]
    public void Summarize_BrokenWeights_FailsAsOpeningThemWould()
    {
        using TempDirectory folder = TinyModel.Folder();
        byte[] weights = File.ReadAllBytes(folder.PathOf("model.safetensors"));
        folder.Write("model.safetensors", weights[..^10]);
        ModelFolder model = ModelFolder.Open(folder.Path);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => model.Summarize(), "looks truncated");
    }
}
