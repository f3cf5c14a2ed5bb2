namespace RerankSharp.Models;

/// <summary>
/// Where one tensor lives: its dtype and shape from the safetensors header, and the absolute byte
/// range in its file (what ONNX external data needs: location, offset, length).
/// </summary>
/// <param name="Name">The tensor name, e.g. <c>roberta.encoder.layer.0.attention.self.query.weight</c>.</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions, outermost first; empty for a scalar.</param>
/// <param name="FilePath">The safetensors file that holds the data, as a full path.</param>
/// <param name="FileOffset">Offset from the start of the file, past the 8-byte length and the header.</param>
/// <param name="ByteLength">Bytes of data: element count × dtype size.</param>
public sealed record TensorEntry(string Name, TensorDType DType, long[] Shape, string FilePath, long FileOffset, long ByteLength)
{
    /// <summary>The product of <see cref="Shape"/>; 1 for a scalar (empty shape).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long dimension in Shape)
                count *= dimension;
            return count;
        }
    }

    /// <summary>The shape as safetensors and PyTorch print it, e.g. <c>[1024, 1024]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
