using System.Text.Json;
using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class JsonFileTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Read_ByteOrderMark_IsSkipped()
    {
        string path = _directory.Write("config.json", [0xEF, 0xBB, 0xBF, .. "{\"a\": 1}"u8]);

        using JsonDocument document = JsonFile.Read(path, "do something");

        Assert.Equal(1, document.RootElement.GetProperty("a").GetInt32());
    }

    [Fact]
    public void Read_Error_CountsLinesAndPositionsFromOne()
    {
        string path = _directory.Write("config.json", "{\n\n   x");

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => JsonFile.Read(path, "do something"),
            $"{path} is not valid JSON (line 3, position 4: ", "; do something.");
    }

    [Fact]
    public void Read_Error_DropsTheReadersOwnPositionTail()
    {
        string path = _directory.Write("config.json", "{\"a\": }");

        RerankException error = RerankAssert.Throws(RerankErrorKind.InvalidModel, () => JsonFile.Read(path, "do something"));

        Assert.DoesNotContain("LineNumber", error.Message);
        Assert.DoesNotContain("Path: $", error.Message);
    }

    [Fact]
    public void Read_MissingFile_IsModelNotFound()
    {
        string path = _directory.PathOf("absent.json");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => JsonFile.Read(path, "do something"),
            $"{path} not found; do something.");
    }

    [Fact]
    public void Parse_InvalidUtf8_IsNamedAsSuch()
    {
        RerankAssert.Throws(RerankErrorKind.InvalidModel,
            () => JsonFile.Parse(new byte[] { (byte)'"', 0xC3, (byte)'"' }, "the header", "do something"),
            "the header is not valid JSON: it is not UTF-8 text; do something.");
    }

    [Theory]
    [InlineData("{\"vocab\\ud800_size\": 10}")]   // a key: broke every later TryGetProperty (found by fuzzing)
    [InlineData("{\"a\": \"x\\udc00\"}")]       // a value: broke GetString
    [InlineData("{\"a\": [\"\\ud800\\ud800\"]}")]
    public void Read_LoneSurrogateEscape_IsInvalidModelNamingTheByte(string json)
    {
        string path = _directory.Write("config.json", json);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => JsonFile.Read(path, "do something"),
            $"{path} is not valid JSON text: the string at byte ", "escapes a lone UTF-16 surrogate", "; do something.");
    }

    [Fact]
    public void Read_PairedSurrogateEscape_IsAccepted()
    {
        string path = _directory.Write("config.json", "{\"a\": \"\\ud83d\\ude42\"}");

        using JsonDocument document = JsonFile.Read(path, "do something");

        Assert.Equal("🙂", document.RootElement.GetProperty("a").GetString());
    }
}
