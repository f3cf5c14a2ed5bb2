using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class SafetensorsIndexTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Write(string json) => _directory.Write("model.safetensors.index.json", json);

    [Fact]
    public void Load_WeightMap_GivesTensorsAndDistinctShardsInOrder()
    {
        string path = Write("""
            {"metadata": {"total_size": 48},
             "weight_map": {"c": "model-00002-of-00002.safetensors",
                            "a": "model-00001-of-00002.safetensors",
                            "b": "model-00002-of-00002.safetensors"}}
            """);

        SafetensorsIndex index = SafetensorsIndex.Load(path);

        Assert.Equal(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"], index.ShardNames);
        Assert.Equal("model-00002-of-00002.safetensors", index.WeightMap["c"]);
        Assert.Equal(3, index.WeightMap.Count);
        Assert.Equal(_directory.Path, index.Directory);
    }

    [Fact]
    public void Load_NotJson_ReportsFileLineAndPosition()
    {
        string path = Write("{\"weight_map\": {\"a\": \"x.safetensors\",}}");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsIndex.Load(path),
            $"{path} is not valid JSON (line 1", "re-download model.safetensors.index.json");
    }

    [Fact]
    public void Load_NoWeightMap_IsInvalid()
    {
        string path = Write("""{"metadata": {}}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsIndex.Load(path), path, "\"weight_map\" is missing");
    }

    [Fact]
    public void Load_WeightMapNotObject_IsInvalid()
    {
        string path = Write("""{"weight_map": ["a"]}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsIndex.Load(path), "\"weight_map\" must be a JSON object");
    }

    [Fact]
    public void Load_EmptyWeightMap_IsInvalid()
    {
        string path = Write("""{"weight_map": {}}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsIndex.Load(path), "\"weight_map\" names no tensors");
    }

    [Fact]
    public void Load_EntryNotAFileName_IsInvalid()
    {
        string path = Write("""{"weight_map": {"a": 3}}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsIndex.Load(path),
            "weight_map entry 'a' must name a shard file, but is 3");
    }

    [Theory]
    [InlineData("../other/model.safetensors")]
    [InlineData("sub/model.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("sub\\\\model.safetensors")]
    public void Load_ShardOutsideTheFolder_IsRefused(string shard)
    {
        string path = Write($$$"""{"weight_map": {"a": "{{{shard}}}"}}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsIndex.Load(path),
            "weight_map entry 'a' names", "which is not a file in the index's folder");
    }

    [Fact]
    public void Load_TensorListedTwice_IsInvalid()
    {
        string path = Write("""{"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}}""");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsIndex.Load(path), "weight_map lists tensor 'a' twice");
    }

    [Fact]
    public void Load_MissingFile_IsModelNotFound()
    {
        string path = _directory.PathOf("model.safetensors.index.json");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => SafetensorsIndex.Load(path), $"{path} not found");
    }
}
