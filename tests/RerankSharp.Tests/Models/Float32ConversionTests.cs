using System.Buffers.Binary;
using RerankSharp.Models;

namespace RerankSharp.Tests.Models;

public sealed class Float32ConversionTests
{
    /// <summary>binary16 bit patterns and their values, written from the format's definition rather than from Half.</summary>
    public static TheoryData<ushort, float> Float16Values => new()
    {
        { 0x0000, 0f },
        { 0x3C00, 1f },
        { 0xC000, -2f },
        { 0x3555, 1365f / 4096f },                    // 0.333251953125, the float16 nearest 1/3
        { 0x7BFF, 65504f },                           // largest finite
        { 0x0400, MathF.ScaleB(1f, -14) },            // smallest normal
        { 0x0001, MathF.ScaleB(1f, -24) },            // smallest subnormal
        { 0x03FF, MathF.ScaleB(1023f, -24) },         // largest subnormal
        { 0x8001, -MathF.ScaleB(1f, -24) },
        { 0x7C00, float.PositiveInfinity },
        { 0xFC00, float.NegativeInfinity },
    };

    /// <summary>bfloat16 bit patterns and their values.</summary>
    public static TheoryData<ushort, float> BFloat16Values => new()
    {
        { 0x0000, 0f },
        { 0x3F80, 1f },
        { 0xC040, -3f },
        { 0x4049, 3.140625f },
        { 0x7F7F, MathF.ScaleB(255f, 120) },          // largest finite, 3.3895314e38
        { 0x0080, MathF.ScaleB(1f, -126) },           // smallest normal
        { 0x0001, MathF.ScaleB(1f, -133) },           // smallest subnormal
        { 0x007F, MathF.ScaleB(127f, -133) },         // largest subnormal
        { 0x7F80, float.PositiveInfinity },
        { 0xFF80, float.NegativeInfinity },
    };

    [Theory]
    [MemberData(nameof(Float16Values))]
    public void FromFloat16_RepresentableValue_ConvertsExactly(ushort bits, float expected)
    {
        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(Convert16(bits, Float32Conversion.FromFloat16)));
    }

    [Theory]
    [MemberData(nameof(BFloat16Values))]
    public void FromBFloat16_RepresentableValue_ConvertsExactly(ushort bits, float expected)
    {
        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(Convert16(bits, Float32Conversion.FromBFloat16)));
    }

    [Fact]
    public void FromFloat16_NegativeZero_KeepsItsSign()
    {
        Assert.True(float.IsNegative(Convert16(0x8000, Float32Conversion.FromFloat16)));
    }

    [Theory]
    [InlineData((ushort)0x7E00)]
    [InlineData((ushort)0xFE01)]
    [InlineData((ushort)0x7C01)]
    public void FromFloat16_NaN_StaysNaN(ushort bits)
    {
        Assert.True(float.IsNaN(Convert16(bits, Float32Conversion.FromFloat16)));
    }

    [Theory]
    [InlineData((ushort)0x7FC0)]
    [InlineData((ushort)0xFFC1)]
    [InlineData((ushort)0x7F81)]
    public void FromBFloat16_NaN_StaysNaN(ushort bits)
    {
        Assert.True(float.IsNaN(Convert16(bits, Float32Conversion.FromBFloat16)));
    }

    [Fact]
    public void FromFloat32_LittleEndianBytes_GiveTheSameBits()
    {
        float[] values = [1.5f, -0f, float.Epsilon, float.MaxValue, float.NegativeInfinity, 1e-40f];
        byte[] bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        float[] converted = new float[values.Length];

        Float32Conversion.FromFloat32(bytes, converted);

        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), converted.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void FromFloat16_LengthsThatDisagree_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => Float32Conversion.FromFloat16(new byte[6], new float[2]));
    }

    private delegate void Conversion(ReadOnlySpan<byte> source, Span<float> destination);

    private static float Convert16(ushort bits, Conversion conversion)
    {
        byte[] bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, bits);
        float[] result = new float[1];
        conversion(bytes, result);
        return result[0];
    }
}
