namespace RerankSharp.Onnx;

/// <summary>How the encoder blocks are expressed.</summary>
public enum GraphForm
{
    /// <summary>ONNX Runtime contrib operators (FusedMatMul, MultiHeadAttention, SkipLayerNormalization, BiasGelu): weights used in their stored layout, a real key-padding mask, faster at long inputs.</summary>
    Fused,
    /// <summary>Plain opset-20 operators only; the cross-check for <see cref="Fused"/> and the form other runtimes read.</summary>
    Plain,
}
