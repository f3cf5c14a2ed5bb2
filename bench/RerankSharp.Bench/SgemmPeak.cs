using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Onnx;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Bench;

/// <summary>
/// The machine's fp32 GEMM peak through the same runtime: one ORT MatMul [5120,1024] × [1024,4096]
/// (42.9 GFLOP, the shape of an FFN projection at 10 × 512 tokens) with a constant, prepacked B.
/// </summary>
internal sealed class SgemmPeak : IDisposable
{
    private const int M = 5120, K = 1024, N = 4096;
    private readonly InferenceSession _session;
    private readonly float[] _a;

    public SgemmPeak(int threads)
    {
        var random = new Random(1);
        var g = new OnnxGraphBuilder("sgemm");
        var a = g.AddInput("a", DataType.Float, M, K);
        var b = g.AddConstant("b", [K, N], Enumerable.Range(0, K * N).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
        g.Node("MatMul", "gemm", [a, b], "c");
        g.AddOutput("c", DataType.Float, M, N);
        using var options = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel("bench")), options);
        _a = Enumerable.Range(0, M * K).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        Run(2);   // the first products pay for ORT's first allocations
    }

    public const double Flops = 2.0 * M * K * N;

    /// <summary>GFLOP/s of each of <paramref name="reps"/> timed products.</summary>
    public List<double> Measure(int reps) => Run(reps);

    private List<double> Run(int reps)
    {
        var results = new List<double>();
        using var a = OrtValue.CreateTensorValueFromMemory(_a, [M, K]);
        for (var r = 0; r < reps; r++)
        {
            var clock = Stopwatch.StartNew();
            using var outputs = _session.Run(new RunOptions(), ["a"], [a], ["c"]);
            results.Add(Flops / clock.Elapsed.TotalSeconds / 1e9);
        }
        return results;
    }

    public void Dispose() => _session.Dispose();
}
