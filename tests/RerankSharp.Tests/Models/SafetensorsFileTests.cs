using System.Runtime.InteropServices;
using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class SafetensorsFileTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Open_WellFormedFile_MapsTheBytesTheHeaderPointsAt()
    {
        var builder = new SafetensorsBuilder().AddCounting("a", "F32", 4, 3).AddCounting("b", "U8", 1, 5);
        string path = builder.WriteTo(_directory);
        byte[] onDisk = File.ReadAllBytes(path);

        using SafetensorsFile file = SafetensorsFile.Open(path);

        Assert.Equal(onDisk.Length, file.Length);
        foreach (TensorEntry entry in file.Tensors)
        {
            byte[] expected = onDisk.AsSpan((int)entry.FileOffset, (int)entry.ByteLength).ToArray();
            Assert.Equal(expected, file.Bytes(entry.FileOffset, (int)entry.ByteLength).ToArray());
            Assert.Equal(expected[0], Marshal.ReadByte(file.Address(entry.FileOffset)));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Open_FileShorterThanTheLengthPrefix_LooksIncomplete(int length)
    {
        string path = _directory.Write("model.safetensors", new byte[length]);

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsFile.Open(path),
            $"{path} is {length} bytes, too short to be a safetensors file", "the download looks incomplete; re-download it");
    }

    [Fact]
    public void Open_HeaderLongerThanTheFile_LooksTruncated()
    {
        string path = _directory.Write("model.safetensors", SafetensorsBuilder.Assemble(64, "{\"a\":"u8.ToArray()));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsFile.Open(path),
            $"{path} declares a header of 64 bytes, but only 5 bytes follow its length", "looks truncated", "re-download");
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(ulong.MaxValue)]
    public void Open_AbsurdHeaderLength_IsNotSafetensors(ulong declared)
    {
        string path = _directory.Write("model.safetensors", SafetensorsBuilder.Assemble(declared, "{}"u8.ToArray()));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsFile.Open(path),
            $"{path} declares a header of {declared} bytes, more than the 100 MB safetensors allows", "re-download");
    }

    [Fact]
    public void Open_HtmlPageSavedUnderTheName_IsNotSafetensors()
    {
        // What a failed download through a proxy often leaves; "<!DOCTYP" read as a length is ~5.8e18.
        string path = _directory.Write("model.safetensors", "<!DOCTYPE html><html><body>Bad gateway</body></html>"u8.ToArray());

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsFile.Open(path),
            path, "more than the 100 MB safetensors allows; it is not a safetensors file or it is corrupt");
    }

    [Fact]
    public void Open_HeaderNotStartingWithBrace_IsNotSafetensors()
    {
        string path = _directory.Write("model.safetensors", SafetensorsBuilder.Assemble(8, "PK\x03\x04xxxx"u8.ToArray()));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsFile.Open(path),
            path, "not a safetensors file: its header does not start with '{'");
    }

    [Fact]
    public void Open_MissingFile_IsModelNotFound()
    {
        string path = _directory.PathOf("model.safetensors");

        RerankAssert.Throws(RerankErrorKind.ModelNotFound, () => SafetensorsFile.Open(path),
            $"Model weights not found: {path} does not exist.");
    }

    [Fact]
    public void Bytes_AfterDispose_IsRefused()
    {
        string path = new SafetensorsBuilder().AddCounting("a", "F32", 4, 3).WriteTo(_directory);
        SafetensorsFile file = SafetensorsFile.Open(path);
        long offset = file.Tensors[0].FileOffset;

        file.Dispose();
        file.Dispose();

        Assert.Throws<ObjectDisposedException>(() => file.Bytes(offset, 4).Length);
    }

    [Fact]
    public void Bytes_OutsideTheFile_IsABug()
    {
        string path = new SafetensorsBuilder().AddCounting("a", "F32", 4, 3).WriteTo(_directory);
        using SafetensorsFile file = SafetensorsFile.Open(path);

        RerankAssert.Throws(RerankErrorKind.Internal, () => { _ = file.Bytes(file.Length - 2, 4).Length; }, "this is a bug");
    }

    [Fact]
    public void Open_TensorNameEscapingALoneSurrogate_IsInvalidModel()
    {
        // Found by fuzzing: the header parsed, then reading the tensor's name threw InvalidOperationException.
        string header = "{\"w\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        string path = _directory.Write("model.safetensors", SafetensorsBuilder.Assemble(header, new byte[4]));

        RerankAssert.Throws(RerankErrorKind.InvalidModel, () => SafetensorsFile.Open(path), path, "lone UTF-16 surrogate");
    }
}
