namespace RerankSharp.Onnx;

/// <summary>Number format of the encoder's weight matrices.</summary>
public enum Precision
{
    /// <summary>The checkpoint's weights as float32: the reference's scores to ~1e-5.</summary>
    Fp32,

    /// <summary>
    /// Weight matrices quantized per output column to int8 at first load (cached next to the model),
    /// activations quantized per tensor at run time (<c>DynamicQuantizeMatMul</c>). Faster on CPU,
    /// approximate: measure ranking quality on your own data before relying on it.
    /// </summary>
    Int8,
}
