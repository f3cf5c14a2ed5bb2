using System.CommandLine;
using RerankSharp.Models;
using Spectre.Console;

namespace RerankSharp.Cli.Commands;

/// <summary><c>rerank info</c>: what a model folder holds, without loading it into ONNX Runtime.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show what the model folder holds: architecture, sizes, parameters, files, dtypes.");
        command.SetAction((result, ct) => Cli.Run(result, () =>
        {
            var folder = ModelFolder.Open(HubCache.ResolveModelDirectory(result.GetValue(CommonOptions.Model)!));
            var c = folder.Config;
            using var weights = SafetensorsStore.Open(folder);
            var grid = new Grid().AddColumn().AddColumn();
            void Row(string key, string value) => grid.AddRow($"[grey]{key}[/]", Markup.Escape(value));
            Row("folder", folder.Directory);
            Row("architecture", string.Join(", ", c.Architectures) + $" ({c.ModelType})");
            Row("layers × hidden", $"{c.NumHiddenLayers} × {c.HiddenSize}, {c.NumAttentionHeads} heads, intermediate {c.IntermediateSize}");
            Row("vocabulary", $"{c.VocabSize:N0}");
            Row("max length", $"{folder.DefaultMaxLength:N0} tokens (positions {c.MaxPositionEmbeddings:N0})");
            Row("labels", c.NumLabels.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Row("parameters", $"{weights.Tensors.Values.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b)):N0}");
            Row("dtypes", string.Join(", ", weights.Tensors.Values.GroupBy(t => t.DType).Select(g => $"{g.Key} × {g.Count()}")));
            Row("tokenizer", string.Join(", ", new[] { folder.TokenizerJsonPath, folder.SentencePieceModelPath }.OfType<string>().Select(Path.GetFileName)));
            foreach (var file in folder.WeightFiles)
                Row("weights", $"{Path.GetFileName(file)} ({new FileInfo(file).Length / 1048576.0:N1} MiB)");
            AnsiConsole.Write(grid);
            return Task.FromResult(0);
        }));
        return command;
    }
}
