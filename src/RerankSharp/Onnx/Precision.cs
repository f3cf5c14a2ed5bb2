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

    /// <summary>
    /// Weight matrices, embeddings and the attention/feed-forward arithmetic in float16; the residual stream,
    /// LayerNorms and the classifier head in float32. For GPUs (the CUDA provider runs it natively); on the CPU
    /// provider ONNX Runtime runs the float16 operators it lacks in float32 over the float16-rounded weights.
    /// </summary>
    Fp16,
}
