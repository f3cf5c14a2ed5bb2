using Microsoft.ML.OnnxRuntime;
using RerankSharp.Onnx;

namespace RerankSharp.Inference;

/// <summary>
/// RerankSharp's own CPU kernels, an ONNX Runtime custom-operator domain (<see cref="OnnxGraphBuilder.KernelDomain"/>)
/// that every session registers; the fused graphs use them on the CPU provider (docs/architecture.md says which and why).
/// </summary>
internal static class RerankKernels
{
    private static readonly Lazy<IntPtr> Domain = new(CreateDomain);

    /// <summary>Whether the kernels can run here: the loaded ONNX Runtime offers the C API they call.</summary>
    public static bool Available => OrtNativeApi.Available;

    /// <summary>
    /// Whether a graph for <paramref name="device"/> should use the kernels: they run on the CPU provider only (on CUDA
    /// ONNX Runtime would copy every activation to the host and back for them), so they are used unless the session
    /// may run on CUDA.
    /// </summary>
    public static bool UseFor(Device device) =>
        Available && (device == Device.Cpu || !OrtEnv.Instance().GetAvailableProviders().Contains(EncoderSession.CudaProvider));

    /// <summary>Makes the kernels known to sessions created with <paramref name="options"/>.</summary>
    public static void Register(SessionOptions options)
    {
        if (Available) OrtNativeApi.AddCustomOpDomain(options, Domain.Value);
    }

    // One domain for the process: ONNX Runtime keeps a pointer to it in every session options it was added to.
    private static unsafe IntPtr CreateDomain()
    {
        var domain = OrtNativeApi.CreateCustomOpDomain(OnnxGraphBuilder.KernelDomain);
        OrtNativeApi.AddCustomOp(domain, SkipLayerNormKernel.CreateOp());
        return domain;
    }
}
