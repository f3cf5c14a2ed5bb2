using Google.Protobuf;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Onnx.Proto;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// Our own exporter for ONNX-only fixtures: the graph RerankSharp builds for a fixture model, with every external
/// initializer's bytes copied into the model (as optimum's exports ship them), written where hub repos keep it.
/// </summary>
internal static class OnnxExport
{
    /// <summary>
    /// A copy of <paramref name="model"/> without its safetensors: config and tokenizer files, plus <c>onnx/model.onnx</c>
    /// (the plain fp32 graph) and <c>onnx/model_quantized.onnx</c> (the int8 graph). Links are copied as their targets.
    /// </summary>
    public static string OnnxOnlyFolder(string model, string destination)
    {
        var source = FixturePaths.Model(model);
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal) && !f.EndsWith("golden_logits.json", StringComparison.Ordinal)))
            File.Copy(LinkedFile.Find(file)!.FullName, Path.Combine(destination, Path.GetFileName(file)));

        // The int8 cache is written beside the weights, so quantize in a scratch copy of the model.
        var scratch = Directory.CreateTempSubdirectory("rerank-export-");
        try
        {
            foreach (var file in Directory.GetFiles(source)) File.Copy(LinkedFile.Find(file)!.FullName, Path.Combine(scratch.FullName, Path.GetFileName(file)));
            var folder = ModelFolder.Open(scratch.FullName);
            using var store = SafetensorsStore.Open(folder);
            Directory.CreateDirectory(Path.Combine(destination, "onnx"));
            Write(Build(folder, store, GraphForm.Plain, Precision.Fp32), folder.Directory, Path.Combine(destination, "onnx", "model.onnx"));
            Write(Build(folder, store, GraphForm.Fused, Precision.Int8), folder.Directory, Path.Combine(destination, "onnx", "model_quantized.onnx"));
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
        return destination;
    }

    private static ModelProto Build(ModelFolder folder, SafetensorsStore store, GraphForm form, Precision precision) =>
        folder.Config.Architectures.Contains(BertGraph.Architecture)
            ? BertGraph.Build(folder.Config, store, folder.Directory, form, precision)
            : XlmRobertaGraph.Build(folder.Config, store, folder.Directory, form, precision);

    private static void Write(ModelProto model, string weightsDirectory, string path)
    {
        foreach (var tensor in model.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External))
        {
            var place = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
            using var file = File.OpenRead(Path.Combine(weightsDirectory, place["location"]));
            var bytes = new byte[long.Parse(place["length"], System.Globalization.CultureInfo.InvariantCulture)];
            file.Position = long.Parse(place["offset"], System.Globalization.CultureInfo.InvariantCulture);
            file.ReadExactly(bytes);
            tensor.RawData = ByteString.CopyFrom(bytes);
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
        }
        File.WriteAllBytes(path, model.ToByteArray());
    }
}
