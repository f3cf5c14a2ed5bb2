namespace RerankSharp.Inference;

/// <summary>Where the model runs.</summary>
public enum Device
{
    /// <summary>CUDA when the ONNX Runtime native library has it, else CPU.</summary>
    Auto,
    Cpu,
    /// <summary>CUDA (needs the Microsoft.ML.OnnxRuntime.Gpu.Linux runtime); falls back to CPU with a warning when absent.</summary>
    Cuda,
}
