using Google.Protobuf;
using RerankSharp.Onnx.Proto;

namespace RerankSharp.Bench;

/// <summary>
/// <c>rerank-bench onnx-external --model ONNX_FILE</c>: gathers every initializer's bytes into one <c>model.onnx_data</c>
/// beside the model, the single external-data file that transformers.js loads (<c>use_external_data_format</c>).
/// torch.onnx.export above protobuf's 2 GB writes one file per tensor instead, which transformers.js cannot read
/// (it hands ONNX Runtime the model bytes, not a path, and names the one data file itself).
/// </summary>
internal static class OnnxExternalData
{
    public static int Run(BenchArguments a)
    {
        var modelPath = Path.GetFullPath(a.Get("model", ""));
        var directory = Path.GetDirectoryName(modelPath)!;
        var dataName = Path.GetFileName(modelPath) + "_data";
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        var moved = new List<string>();
        using (var data = new FileStream(Path.Combine(directory, dataName + ".partial"), FileMode.Create, FileAccess.Write))
        {
            foreach (var tensor in model.Graph.Initializer)
            {
                byte[] bytes;
                if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
                {
                    var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
                    var file = Path.Combine(directory, entries["location"]);
                    using var source = File.OpenRead(file);
                    var offset = entries.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
                    var length = entries.TryGetValue("length", out var l) ? long.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : source.Length - offset;
                    bytes = new byte[length];
                    source.Position = offset;
                    source.ReadExactly(bytes);
                    moved.Add(file);
                }
                else if (tensor.RawData.Length >= 1024) bytes = tensor.RawData.ToByteArray();
                else continue;   // shapes and scalars stay in the graph
                // 4 KiB alignment, as onnx's convert_model_to_external_data does, so a loader may map the file.
                var padding = (4096 - data.Position % 4096) % 4096;
                data.Write(new byte[padding]);
                var start = data.Position;
                data.Write(bytes);
                tensor.RawData = ByteString.Empty;
                tensor.DataLocation = TensorProto.Types.DataLocation.External;
                tensor.ExternalData.Clear();
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = start.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
        }
        File.Move(Path.Combine(directory, dataName + ".partial"), Path.Combine(directory, dataName), overwrite: true);
        File.WriteAllBytes(modelPath, model.ToByteArray());
        foreach (var file in moved.Distinct().Where(f => Path.GetFileName(f) != dataName)) File.Delete(file);
        Console.Error.WriteLine($"{modelPath}: {model.Graph.Initializer.Count} initializers, {moved.Distinct().Count()} external files gathered into {dataName}");
        return 0;
    }
}
