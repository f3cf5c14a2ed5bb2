using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class TensorDTypeTests
{
    [Theory]
    [InlineData("F64", TensorDType.F64, 8)]
    [InlineData("I64", TensorDType.I64, 8)]
    [InlineData("F32", TensorDType.F32, 4)]
    [InlineData("I32", TensorDType.I32, 4)]
    [InlineData("F16", TensorDType.F16, 2)]
    [InlineData("BF16", TensorDType.BF16, 2)]
    [InlineData("I16", TensorDType.I16, 2)]
    [InlineData("I8", TensorDType.I8, 1)]
    [InlineData("U8", TensorDType.U8, 1)]
    [InlineData("BOOL", TensorDType.BOOL, 1)]
    [InlineData("F8_E4M3", TensorDType.F8_E4M3, 1)]
    [InlineData("F8_E5M2", TensorDType.F8_E5M2, 1)]
    public void TryParse_HeaderSpelling_GivesTheTypeAndItsSize(string text, TensorDType expected, int size)
    {
        Assert.True(TensorDTypeExtensions.TryParse(text, out TensorDType dtype));
        Assert.Equal(expected, dtype);
        Assert.Equal(size, dtype.ByteSize());
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("float32")]
    [InlineData("F4")]
    [InlineData("0")]
    [InlineData("F32,F16")]
    [InlineData("")]
    public void TryParse_AnythingElse_Fails(string text)
    {
        Assert.False(TensorDTypeExtensions.TryParse(text, out _));
    }

    [Fact]
    public void IsReadableAsFloat32_HoldsForTheThreeFloatTypesOnly()
    {
        TensorDType[] readable = Enum.GetValues<TensorDType>().Where(dtype => dtype.IsReadableAsFloat32()).ToArray();

        Assert.Equal([TensorDType.F32, TensorDType.F16, TensorDType.BF16], readable);
    }
}
