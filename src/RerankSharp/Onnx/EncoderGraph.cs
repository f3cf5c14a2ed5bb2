using RerankSharp.Models;
using RerankSharp.Onnx.Proto;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace RerankSharp.Onnx;

/// <summary>
/// What every encoder architecture's graph is built from, set up once per build: the graph, the checkpoint's tensors,
/// the projections in the chosen precision (with the int8 weight cache when int8), and the layer builder. An
/// architecture file adds its embeddings, loops over <see cref="Layers"/> and adds its head.
/// </summary>
internal sealed class EncoderGraph
{
    private readonly string _architecture;
    private readonly GraphForm _form;

    private EncoderGraph(string architecture, GraphForm form, OnnxGraphBuilder graph, CheckpointTensors tensors, EncoderProjection projection,
        EncoderLayer layers)
    {
        _architecture = architecture;
        _form = form;
        G = graph;
        Tensors = tensors;
        Projection = projection;
        Layers = layers;
    }

    public OnnxGraphBuilder G { get; }

    public CheckpointTensors Tensors { get; }

    public EncoderProjection Projection { get; }

    public EncoderLayer Layers { get; }

    /// <summary>
    /// Sets up a build of <paramref name="architecture"/>. Weights are external data pointing into the safetensors files
    /// (after following links), located relative to <paramref name="modelDirectory"/>, which must hold them
    /// (<see cref="ModelFolder.WeightsDirectory"/>); int8 quantizes <paramref name="layout"/>'s matrices into a cache
    /// there on first use. <paramref name="ownKernels"/>: the fused fp32 and int8 graphs use RerankSharp's CPU kernels
    /// (<see cref="OnnxGraphBuilder.KernelDomain"/>), for sessions on the CPU. <paramref name="mismatchAdvice"/> ends
    /// the message of a missing tensor: what the checkpoint should have been.
    /// </summary>
    public static EncoderGraph Start(string architecture, EncoderLayerLayout layout, SafetensorsStore weights, string modelDirectory, GraphForm form,
        Precision precision, Int8Recipe? recipe, bool ownKernels, string mismatchAdvice)
    {
        EncoderLayer.CheckForm(form, precision);
        recipe ??= Int8Recipe.Default;
        var smoothing = precision == Precision.Int8 && recipe.SmoothingStatistics is { } statistics
            ? Int8Smoothing.Load(statistics, recipe.SmoothingAlpha) : null;
        var factors = smoothing?.FactorsFor(weights, layout.Matrices());
        var int8 = precision == Precision.Int8
            ? Int8WeightCache.LoadOrCreate(modelDirectory, weights, layout.Matrices(),
                recipe.Activations switch
                {
                    Int8Activations.WeightsOnlyBlock32 => Int8Layout.Block32Float,
                    Int8Activations.Block32 => Int8Layout.Block32Int8,
                    _ => null,
                }, factors, smoothing?.Fingerprint)
            : null;
        var graph = new OnnxGraphBuilder(architecture);
        var tensors = new CheckpointTensors(graph, weights, modelDirectory, mismatchAdvice,
            ownKernels && form == GraphForm.Fused && precision != Precision.Fp16);
        var projection = new EncoderProjection(graph, tensors, precision, recipe, int8, layout.LayerCount) { SmoothingFactors = factors };
        return new EncoderGraph(architecture, form, graph, tensors, projection, new EncoderLayer(graph, tensors, layout, form, projection));
    }

    /// <summary>Adds the inputs <c>input_ids</c> and <c>attention_mask</c> (int64 [B, T]) and the output <c>logits</c> (float [B, num_labels]).</summary>
    public (string InputIds, string AttentionMask) Inputs(int numLabels)
    {
        var inputIds = G.AddInput("input_ids", DataType.Int64, "B", "T");
        var attentionMask = G.AddInput("attention_mask", DataType.Int64, "B", "T");
        G.AddOutput("logits", DataType.Float, "B", numLabels);
        return (inputIds, attentionMask);
    }

    /// <summary>Rows of an embedding table, in the block's compute type (float16 tables in fp16).</summary>
    public string Embed(string module, string table, string indices) => G.Node("Gather", module, [Projection.Weight(table), indices]);

    public ModelProto ToModel() =>
        G.ToModel(typeof(EncoderGraph).Assembly.GetName().Version?.ToString() ?? "0",
            new Dictionary<string, string>
            {
                ["architecture"] = _architecture, ["graph_form"] = _form.ToString(), ["precision"] = Projection.Precision.ToString(),
                ["int8_recipe"] = Projection.Precision == Precision.Int8 ? Projection.Recipe.ToString() : "",
            });
}
