using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class SafetensorsStoreTests : IDisposable
{
    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string WriteIndex(params (string Tensor, string Shard)[] weightMap) =>
        _directory.Write("model.safetensors.index.json",
            TinyModel.Json(new() { ["metadata"] = new Dictionary<string, long> { ["total_size"] = 0 },
                                   ["weight_map"] = weightMap.ToDictionary(pair => pair.Tensor, pair => pair.Shard) }));

    private (string First, string Second) WriteTwoShards()
    {
        string first = new SafetensorsBuilder().AddF32("a", [2], 1f, 2f).AddF32("b", [1], 3f).WriteTo(_directory, Shard1);
        string second = new SafetensorsBuilder().AddF32("c", [3], 4f, 5f, 6f).WriteTo(_directory, Shard2);
        return (first, second);
    }

    [Fact]
    public void ReadAsFloat32_F32Tensor_GivesBackTheValuesWritten()
    {
        float[] values = [0f, -0f, 1.5f, -2.25f, float.Epsilon, float.MaxValue, float.NegativeInfinity, 1e-40f];
        string path = new SafetensorsBuilder().AddF32("w", [2, 4], values).WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        float[] read = store.ReadAsFloat32("w");

        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), read.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void ReadAsFloat32_F16Tensor_ConvertsEveryKindOfValueExactly()
    {
        // 1, -2, smallest subnormal, largest subnormal, largest finite, +inf, -inf, NaN
        ushort[] bits = [0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, 0xFC00, 0x7E00];
        string path = new SafetensorsBuilder().AddBits16("h", "F16", [8], bits).WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        float[] read = store.ReadAsFloat32("h");

        Assert.Equal([1f, -2f, MathF.ScaleB(1f, -24), MathF.ScaleB(1023f, -24), 65504f, float.PositiveInfinity, float.NegativeInfinity],
            read[..7]);
        Assert.True(float.IsNaN(read[7]));
    }

    [Fact]
    public void ReadAsFloat32_BF16Tensor_ConvertsEveryKindOfValueExactly()
    {
        // 1, -3, pi to 8 bits, smallest subnormal, largest finite, +inf, -inf, NaN
        ushort[] bits = [0x3F80, 0xC040, 0x4049, 0x0001, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0];
        string path = new SafetensorsBuilder().AddBits16("b", "BF16", [2, 2, 2], bits).WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        float[] read = store.ReadAsFloat32("b");

        Assert.Equal([1f, -3f, 3.140625f, MathF.ScaleB(1f, -133), MathF.ScaleB(255f, 120), float.PositiveInfinity, float.NegativeInfinity],
            read[..7]);
        Assert.True(float.IsNaN(read[7]));
    }

    [Fact]
    public void ReadAsFloat32_IntegerTensor_IsUnsupported()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        RerankAssert.Throws(RerankErrorKind.UnsupportedModel, () => store.ReadAsFloat32("roberta.embeddings.position_ids"),
            $"Tensor 'roberta.embeddings.position_ids' in {path} is I64; only F32, F16 and BF16 tensors can be read as float32");
    }

    [Fact]
    public unsafe void GetBytes_IsAViewOfTheMappedFile_AtTheEntrysOffset()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        byte[] onDisk = File.ReadAllBytes(path);
        using SafetensorsStore store = SafetensorsStore.Open([path]);
        TensorEntry entry = store.Tensors["classifier.out_proj.weight"];

        ReadOnlySpan<byte> bytes = store.GetBytes(entry.Name);

        Assert.Equal(onDisk.AsSpan((int)entry.FileOffset, (int)entry.ByteLength).ToArray(), bytes.ToArray());
        // No copy: the span starts where the mapping of that offset is.
        fixed (byte* start = bytes)
            Assert.Equal(store.GetDataPointer(entry.Name), (nint)start);
    }

    [Fact]
    public void GetBytes_UnknownTensor_IsInvalidModelNamingTheFile()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => { _ = store.GetBytes("roberta.pooler.dense.weight").Length; },
            $"Tensor 'roberta.pooler.dense.weight' not found in {path}", "check that config.json belongs to these weights");
    }

    [Fact]
    public void Tensors_TotalBytesAndParameterCount_AddUpTheHeader()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        Assert.Equal(5, store.Tensors.Count);
        Assert.Equal(80 + 160 + 8 + 1 + 20, store.ParameterCount);
        Assert.Equal(320 + 640 + 16 + 2 + 160, store.TotalBytes);
        Assert.Equal([path], store.Files);
        Assert.Null(store.IndexPath);
        TensorEntry entry = store.Tensors["roberta.embeddings.word_embeddings.weight"];
        Assert.Equal(new TensorEntry(entry.Name, TensorDType.F32, entry.Shape, path, entry.FileOffset, 320), entry);
        Assert.Equal([10L, 8L], entry.Shape);
    }

    [Fact]
    public void Open_ShardsWithIndex_ServesEveryTensorFromItsShard()
    {
        (string first, string second) = WriteTwoShards();
        string index = WriteIndex(("a", Shard1), ("b", Shard1), ("c", Shard2));

        using SafetensorsStore store = SafetensorsStore.Open([first, second], index);

        Assert.Equal(["a", "b", "c"], store.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(second, store.Tensors["c"].FilePath);
        Assert.Equal([4f, 5f, 6f], store.ReadAsFloat32("c"));
        Assert.Equal([1f, 2f], store.ReadAsFloat32("a"));
        Assert.Equal(index, store.IndexPath);
    }

    [Fact]
    public void Open_ShardsWithoutIndex_AreMergedToo()
    {
        (string first, string second) = WriteTwoShards();

        using SafetensorsStore store = SafetensorsStore.Open([first, second]);

        Assert.Equal(3, store.Tensors.Count);
    }

    [Fact]
    public void Open_ShardNamedInIndexMissing_SaysTheDownloadIsIncomplete()
    {
        (string first, _) = WriteTwoShards();
        _directory.Delete(Shard2);
        string index = WriteIndex(("a", Shard1), ("b", Shard1), ("c", Shard2));

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => SafetensorsStore.Open([first], index),
            $"{Shard2} not found in {_directory.Path}; the download looks incomplete; re-download it.");
    }

    [Fact]
    public void Open_IndexNamingATensorItsShardLacks_IsInvalid()
    {
        (string first, string second) = WriteTwoShards();
        string index = WriteIndex(("a", Shard1), ("b", Shard1), ("c", Shard2), ("d", Shard2));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsStore.Open([first, second], index),
            $"{index} puts tensor 'd' in {Shard2}, but {second} has no such tensor", "different downloads; re-download the model");
    }

    [Fact]
    public void Open_IndexPlacingATensorInTheWrongShard_IsInvalid()
    {
        (string first, string second) = WriteTwoShards();
        string index = WriteIndex(("a", Shard1), ("b", Shard2), ("c", Shard2));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsStore.Open([first, second], index),
            $"{index} puts tensor 'b' in {Shard2}, but it is in {first}");
    }

    [Fact]
    public void Open_TensorInTwoShards_NamesBothFiles()
    {
        string first = new SafetensorsBuilder().AddF32("a", [1], 1f).WriteTo(_directory, Shard1);
        string second = new SafetensorsBuilder().AddF32("a", [1], 2f).WriteTo(_directory, Shard2);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsStore.Open([first, second]),
            $"Tensor 'a' is in both {first} and {second}", "re-download the model");
    }

    [Fact]
    public void Open_IndexNotJson_IsInvalid()
    {
        (string first, string second) = WriteTwoShards();
        string index = _directory.Write("model.safetensors.index.json", "{\"weight_map\": ");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsStore.Open([first, second], index),
            $"{index} is not valid JSON");
    }

    [Fact]
    public void Open_OneBadShard_FailsNamingThatShard()
    {
        (string first, _) = WriteTwoShards();
        string second = _directory.Write(Shard2, new byte[3]);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsStore.Open([first, second]),
            $"{second} is 3 bytes, too short to be a safetensors file");
    }

    [Fact]
    public void Open_MissingFile_IsModelNotFound()
    {
        string path = _directory.PathOf("model.safetensors");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => SafetensorsStore.Open([path]),
            $"Model weights not found: {path} does not exist.");
    }

    [Fact]
    public void Open_NoFilesOrTheSameFileTwice_IsACallerError()
    {
        string path = TinyModel.Weights().WriteTo(_directory);

        Assert.Throws<ArgumentException>(() => SafetensorsStore.Open([]));
        Assert.Throws<ArgumentException>(() => SafetensorsStore.Open([path, path]));
    }

    [Fact]
    public void Open_ModelFolder_MapsItsWeights()
    {
        using TempDirectory folder = TinyModel.Folder();

        using SafetensorsStore store = SafetensorsStore.Open(ModelFolder.Open(folder.Path));

        Assert.Equal(5, store.Tensors.Count);
    }

    [Fact]
    public void Validate_ExpectedTensorsPresent_PassesAndReportsTheExtras()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        store.Validate([
            ("roberta.embeddings.word_embeddings.weight", [10, 8]),
            ("roberta.embeddings.position_embeddings.weight", [20, 8]),
            ("classifier.out_proj.weight", [1, 8]),
        ]);

        Assert.Equal(["classifier.out_proj.bias", "roberta.embeddings.position_ids"], store.UnexpectedTensors);
    }

    [Fact]
    public void UnexpectedTensors_BeforeValidate_IsEmpty()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        Assert.Empty(store.UnexpectedTensors);
    }

    [Fact]
    public void Validate_MissingTensor_NamesItItsShapeAndTheFile()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => store.Validate([("roberta.pooler.dense.weight", [8, 8])]),
            $"Model weights do not match config.json: tensor 'roberta.pooler.dense.weight' (expected shape [8, 8]) is missing from {path}",
            "check that config.json belongs to these weights, or re-download the model");
    }

    [Fact]
    public void Validate_WrongShape_GivesActualAndExpectedShapeAndTheFile()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => store.Validate([("roberta.embeddings.word_embeddings.weight", [10, 16])]),
            $"tensor 'roberta.embeddings.word_embeddings.weight' in {path} has shape [10, 8], expected [10, 16]");
    }

    [Fact]
    public void Validate_SeveralProblems_DetailsTheFirstAndCountsTheRest()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => store.Validate([
                ("classifier.out_proj.weight", [1, 16]),
                ("x", [1]), ("y", [1]), ("z", [1]), ("w", [1]),
            ]),
            "tensor 'classifier.out_proj.weight'", "(and 4 more: 'x', 'y', 'z', …)");
    }

    [Fact]
    public void Validate_MissingFromShards_NamesTheIndex()
    {
        (string first, string second) = WriteTwoShards();
        string index = WriteIndex(("a", Shard1), ("b", Shard1), ("c", Shard2));
        using SafetensorsStore store = SafetensorsStore.Open([first, second], index);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => store.Validate([("d", [1])]), $"is missing from {index}");
    }

    [Fact]
    public void Dispose_Twice_IsHarmless_AndReadsAfterwardAreRefused()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        SafetensorsStore store = SafetensorsStore.Open([path]);

        store.Dispose();
        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => store.GetBytes("classifier.out_proj.bias").Length);
    }

    [Fact]
    public void GetBytes_FromManyThreads_SeesTheSameBytes()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);
        byte[] expected = store.GetBytes("roberta.embeddings.position_embeddings.weight").ToArray();

        Parallel.For(0, 64, _ =>
            Assert.True(store.GetBytes("roberta.embeddings.position_embeddings.weight").SequenceEqual(expected)));
    }

    [Fact]
    public void ThrowIfChanged_UnchangedFileReachedThroughASnapshotLink_Passes()
    {
        string blob = TinyModel.Weights().WriteTo(_directory, "blob");
        string link = _directory.PathOf("model.safetensors");
        File.CreateSymbolicLink(link, "blob");
        using SafetensorsStore store = SafetensorsStore.Open([link]);

        store.ThrowIfChanged();
    }

    [Fact]
    public void ThrowIfChanged_FileGrownInPlaceAfterItsHeaderWasRead_IsRefusedNamingBothSizes()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        long size = new FileInfo(path).Length;
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        using (var append = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            append.Write(new byte[16]);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, store.ThrowIfChanged,
            path, $"changed size from {size} to {size + 16} bytes", "Load again once the copy or download has finished");
    }

    [Fact]
    public void ThrowIfChanged_FileReplacedByAnotherUnderItsName_IsRefused()
    {
        string path = new SafetensorsBuilder().AddF32("w", [2], 1f, 2f).WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        string other = new SafetensorsBuilder().AddF32("w", [3], 1f, 2f, 3f).WriteTo(_directory, "other.safetensors");
        File.Move(other, path, overwrite: true);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, store.ThrowIfChanged, path, "changed size");
        // The store still reads the file it mapped: a rename never changes an open file.
        Assert.Equal([1f, 2f], store.ReadAsFloat32("w"));
    }

    [Fact]
    public void ThrowIfChanged_FileRewrittenWithTheSameSize_IsRefused()
    {
        string path = new SafetensorsBuilder().AddF32("w", [2], 1f, 2f).WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(5));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, store.ThrowIfChanged, path, "was rewritten");
    }

    [Fact]
    public void ThrowIfChanged_FileRemoved_IsRefused()
    {
        string path = TinyModel.Weights().WriteTo(_directory);
        using SafetensorsStore store = SafetensorsStore.Open([path]);

        File.Delete(path);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, store.ThrowIfChanged, $"{path} was removed");
    }
}
