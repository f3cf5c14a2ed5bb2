namespace RerankSharp.Models;

/// <summary>
/// Element types of safetensors tensors, named as in the file's header. The engine computes in
/// F32, F16 and BF16; the rest are recognised so that a file holding them is reported by name
/// rather than as corrupt.
/// </summary>
public enum TensorDType
{
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    BOOL,
    F8_E4M3,
    F8_E5M2,
}

/// <summary>Facts about <see cref="TensorDType"/> values.</summary>
public static class TensorDTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int ByteSize(this TensorDType dtype) => dtype switch
    {
        TensorDType.F64 or TensorDType.I64 => 8,
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 or TensorDType.I16 => 2,
        TensorDType.I8 or TensorDType.U8 or TensorDType.BOOL or TensorDType.F8_E4M3 or TensorDType.F8_E5M2 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a TensorDType."),
    };

    /// <summary>Whether <see cref="SafetensorsStore.ReadAsFloat32"/> converts this type.</summary>
    public static bool IsReadableAsFloat32(this TensorDType dtype) =>
        dtype is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16;

    /// <summary>The header spelling ("F32", "BF16", "F8_E4M3", …), case-sensitive as safetensors is.</summary>
    internal static bool TryParse(string text, out TensorDType dtype)
    {
        // Enum.TryParse would also accept "f32", " 1" or "F32,F16"; the format allows only the exact names.
        foreach (TensorDType candidate in Enum.GetValues<TensorDType>())
        {
            if (string.Equals(candidate.ToString(), text, StringComparison.Ordinal))
            {
                dtype = candidate;
                return true;
            }
        }
        dtype = default;
        return false;
    }
}
