using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using RerankSharp.Onnx.Proto;
using RerankSharp.Inference;
using RerankSharp.Models;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// How the graph tests open a fixture's graph: the checkpoint checked against the architecture's expected tensors, the
/// graph built over it, and a two-thread CPU session with every optimisation, as the engine runs it.
/// </summary>
internal static class GraphSessions
{
    public static EncoderSession Create(ModelFolder folder, IEnumerable<(string Name, long[] Shape)> expected,
        Func<SafetensorsStore, ModelProto> build, TokenTypeRule? tokenTypes = null)
    {
        byte[] graph;
        using (var store = SafetensorsStore.Open(folder))
        {
            store.Validate(expected);
            graph = build(store).ToByteArray();
        }
        return EncoderSession.Create(graph, folder.Directory, folder.Config.NumLabels,
            new SessionSettings(Device.Cpu, 2, GraphOptimizationLevel.ORT_ENABLE_ALL), NullLogger.Instance, tokenTypes);
    }
}
