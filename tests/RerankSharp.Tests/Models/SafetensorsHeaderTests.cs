using System.Text;
using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class SafetensorsHeaderTests
{
    private const string File = "/models/m/model.safetensors";

    private static IReadOnlyList<TensorEntry> Parse(string header, long dataLength, long dataStart = 1000) =>
        SafetensorsHeader.Parse(Encoding.UTF8.GetBytes(header), File, dataStart, dataLength);

    private static RerankException Fails(string header, long dataLength, params string[] fragments) =>
        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => Parse(header, dataLength), [File, .. fragments]);

    [Fact]
    public void Parse_WellFormedHeader_GivesEntriesInOffsetOrderWithAbsoluteOffsets()
    {
        const string header = """
            {"b": {"dtype": "F16", "shape": [3], "data_offsets": [8, 14]},
             "__metadata__": {"format": "pt"},
             "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
            """;

        IReadOnlyList<TensorEntry> entries = Parse(header, dataLength: 14, dataStart: 96);

        Assert.Equal(["a", "b"], entries.Select(entry => entry.Name));
        Assert.Equal(TensorDType.F32, entries[0].DType);
        Assert.Equal([2L], entries[0].Shape);
        Assert.Equal(96, entries[0].FileOffset);
        Assert.Equal(8, entries[0].ByteLength);
        Assert.Equal(TensorDType.F16, entries[1].DType);
        Assert.Equal(104, entries[1].FileOffset);
        Assert.Equal(6, entries[1].ByteLength);
        Assert.Equal(File, entries[1].FilePath);
    }

    [Fact]
    public void Parse_ScalarAndEmptyTensors_AreAllowed()
    {
        const string header = """
            {"scalar": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
             "empty": {"dtype": "F32", "shape": [0, 5], "data_offsets": [4, 4]},
             "last": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}}
            """;

        IReadOnlyList<TensorEntry> entries = Parse(header, dataLength: 6);

        Assert.Equal(1, entries.Single(entry => entry.Name == "scalar").ElementCount);
        Assert.Equal(0, entries.Single(entry => entry.Name == "empty").ByteLength);
    }

    [Fact]
    public void Parse_NoTensorsAndNoData_IsAnEmptyFile()
    {
        Assert.Empty(Parse("{}", dataLength: 0));
    }

    [Fact]
    public void Parse_HeaderNotStartingWithBrace_IsNotSafetensors()
    {
        Fails("  {}", 0, "is not a safetensors file: its header does not start with '{'", "re-download");
    }

    [Fact]
    public void Parse_HeaderNotJson_ReportsLineAndPosition()
    {
        Fails("{\"a\": {\"dtype\": F32}}", 0, "(safetensors header) is not valid JSON (line 1, position 17", "re-download the file");
    }

    [Fact]
    public void Parse_HeaderNotUtf8_IsInvalid()
    {
        byte[] header = [(byte)'{', (byte)'"', 0xC0, 0x80, (byte)'"', (byte)':', (byte)'1', (byte)'}'];

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsHeader.Parse(header, File, 16, 0),
            File, "not UTF-8");
    }

    [Fact]
    public void Parse_EntryNotObject_IsInvalid()
    {
        Fails("""{"a": [1, 2]}""", 0, "tensor 'a' must be an object with dtype, shape and data_offsets");
    }

    [Theory]
    [InlineData("dtype", """{"shape": [1], "data_offsets": [0, 4]}""")]
    [InlineData("shape", """{"dtype": "F32", "data_offsets": [0, 4]}""")]
    [InlineData("data_offsets", """{"dtype": "F32", "shape": [1]}""")]
    public void Parse_EntryMissingField_NamesTheField(string field, string entry)
    {
        Fails($$"""{"a": {{entry}}}""", 4, $"tensor 'a' has no \"{field}\"");
    }

    [Fact]
    public void Parse_DtypeNotString_IsInvalid()
    {
        Fails("""{"a": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}}""", 4, "tensor 'a' has dtype 4, which is not a dtype name");
    }

    [Fact]
    public void Parse_UnknownDtype_IsUnsupportedAndNamesIt()
    {
        RerankAssert.Throws(RerankErrorKind.UnsupportedModel,
            () => Parse("""{"a": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}}""", 1),
            File, "tensor 'a' has dtype \"F4\", which RerankSharp does not read", "F8_E5M2", "float32, float16 or bfloat16");
    }

    [Theory]
    [InlineData("[-1, 2]")]
    [InlineData("[1.5]")]
    [InlineData("\"2x3\"")]
    [InlineData("[\"2\"]")]
    [InlineData("[99999999999999999999]")]
    public void Parse_ShapeNotNonNegativeIntegers_IsInvalid(string shape)
    {
        Fails($$$"""{"a": {"dtype": "F32", "shape": {{{shape}}}, "data_offsets": [0, 4]}}""", 4,
            "tensor 'a' has shape", "which must be a list of non-negative integers");
    }

    [Fact]
    public void Parse_ShapeWhoseElementCountOverflows_IsInvalid()
    {
        Fails("""{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}""", 4,
            "tensor 'a' has shape [4294967296, 4294967296], whose element count overflows");
    }

    [Fact]
    public void Parse_ByteCountThatOverflows_IsAMismatch()
    {
        Fails("""{"a": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 4]}}""", 4,
            "which takes more than 2^63 bytes");
    }

    [Theory]
    [InlineData("[0]")]
    [InlineData("[0, 4, 8]")]
    [InlineData("[-4, 0]")]
    [InlineData("{\"begin\": 0}")]
    [InlineData("[0, 18446744073709551615]")]
    public void Parse_DataOffsetsNotTwoNonNegativeIntegers_IsInvalid(string offsets)
    {
        Fails($$$"""{"a": {"dtype": "F32", "shape": [1], "data_offsets": {{{offsets}}}}}""", 4,
            "tensor 'a' has data_offsets", "which must be two non-negative integers [begin, end]");
    }

    [Fact]
    public void Parse_EndBeforeBegin_IsInvalid()
    {
        Fails("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}""", 8,
            "tensor 'a' has data_offsets [8, 4], whose end is before its begin");
    }

    [Fact]
    public void Parse_TensorPastTheEndOfTheData_SaysTheFileLooksTruncated()
    {
        const string header = """
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
             "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}
            """;

        Fails(header, 20, "tensor 'b' ends at byte 24 of the data, but the file holds only 20 bytes of data",
            "the file looks truncated (an incomplete download); re-download it");
    }

    [Fact]
    public void Parse_ByteLengthNotElementsTimesDtypeSize_IsInvalid()
    {
        Fails("""{"a": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 24]}}""", 24,
            "tensor 'a' is BF16 [2, 3], which takes 12 bytes, but its data_offsets [0, 24] span 24 bytes");
    }

    [Fact]
    public void Parse_OverlappingTensors_NamesBoth()
    {
        const string header = """
            {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
             "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}
            """;

        Fails(header, 24, "tensors 'a' and 'b' overlap: 'b' starts at byte 8, before 'a' ends at byte 16");
    }

    [Fact]
    public void Parse_HoleBetweenTensors_IsRefusedLikeTheReference()
    {
        const string header = """
            {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
             "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}
            """;

        Fails(header, 12, "4 unused bytes lie between tensor 'a' (ending at byte 4) and tensor 'b' (starting at byte 8)",
            "fill the data without gaps");
    }

    [Fact]
    public void Parse_HoleBeforeFirstTensor_IsRefused()
    {
        Fails("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""", 8,
            "the first tensor 'a' starts at byte 4, leaving 4 unused bytes");
    }

    [Fact]
    public void Parse_BytesAfterTheLastTensor_AreRefused()
    {
        Fails("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", 10,
            "6 bytes follow the last tensor 'a' (ending at byte 4 of 10)");
    }

    [Fact]
    public void Parse_DataWithoutTensors_IsRefused()
    {
        Fails("{}", 10, "the header lists no tensors, but 10 bytes of data follow it");
    }

    [Fact]
    public void Parse_DuplicateTensorName_IsInvalid()
    {
        const string header = """
            {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
             "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
            """;

        Fails(header, 8, "\"a\" appears twice in the header");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"format\": 1}")]
    public void Parse_MetadataNotMapOfStrings_IsInvalid(string metadata)
    {
        Fails($$"""{"__metadata__": {{metadata}}}""", 0, "\"__metadata__\" must be an object of strings");
    }

    [Fact]
    public void Parse_TrailingSpacePadding_IsAllowed()
    {
        Assert.Single(Parse("""{"a": {"dtype": "I8", "shape": [1], "data_offsets": [0, 1]}}      """, 1));
    }
}
