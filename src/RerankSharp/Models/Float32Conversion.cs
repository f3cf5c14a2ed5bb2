using System.Buffers.Binary;

namespace RerankSharp.Models;

/// <summary>
/// Widening of little-endian F32, F16 and BF16 tensor bytes to <see cref="float"/>. Both
/// half-width formats are subsets of float32, so every value, subnormals, infinities and NaN
/// included, converts exactly.
/// </summary>
internal static class Float32Conversion
{
    public static void FromFloat32(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source, destination, sizeof(float));
        for (int i = 0; i < destination.Length; i++)
            destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(i * sizeof(float))..]);
    }

    /// <summary>IEEE binary16; <see cref="Half"/>'s conversion is exact, subnormals included.</summary>
    public static void FromFloat16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source, destination, 2);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(source[(i * 2)..]);
    }

    /// <summary>
    /// bfloat16 is the upper half of a float32 (same sign, exponent and top 7 mantissa bits), so
    /// shifting it back into place is the exact conversion; NaN payloads survive.
    /// </summary>
    public static void FromBFloat16(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source, destination, 2);
        for (int i = 0; i < destination.Length; i++)
        {
            uint upper = BinaryPrimitives.ReadUInt16LittleEndian(source[(i * 2)..]);
            destination[i] = BitConverter.UInt32BitsToSingle(upper << 16);
        }
    }

    private static void CheckLengths(ReadOnlySpan<byte> source, Span<float> destination, int elementSize)
    {
        if ((long)destination.Length * elementSize != source.Length)
            throw new ArgumentException($"{source.Length} source bytes do not hold {destination.Length} elements of {elementSize} bytes.", nameof(destination));
    }
}
