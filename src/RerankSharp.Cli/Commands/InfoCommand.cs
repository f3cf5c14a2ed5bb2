using System.CommandLine;
using System.Globalization;
using RerankSharp.Models;
using RerankSharp.Scoring;
using Spectre.Console;

namespace RerankSharp.Cli.Commands;

/// <summary><c>rerank info</c>: what a model folder holds, read from its headers without loading it into ONNX Runtime.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show what the model folder holds: architecture, sizes, parameters, files, dtypes.");
        command.SetAction((result, token) => Cli.Run(result, token, async ct =>
        {
            var folder = ModelFolder.Open(await CommonOptions.ResolveModelAsync(result, ct));
            var summary = folder.Summarize();
            var c = summary.Config;
            var grid = new Grid().AddColumn().AddColumn();
            void Row(string key, string value) => grid.AddRow($"[grey]{key}[/]", Markup.Escape(value));
            Row("folder", summary.Directory);
            Row("architecture", $"{string.Join(", ", c.Architectures)} ({(c.ModelType.Length > 0 ? c.ModelType : $"no model_type; auto_map AutoConfig {c.AutoMap["AutoConfig"]}")})");
            // What `rerank` would run, or why it cannot: the engine's one switch on architectures decides.
            string runs;
            try
            {
                runs = CrossEncoder.ArchitectureOf(folder) + (folder.IsOnnxOnly ? $", from {string.Join(" or ", folder.OnnxFiles)}" : ", graph built from the safetensors");
            }
            catch (RerankException e) when (e.Kind == RerankErrorKind.UnsupportedModel)
            {
                runs = "not supported: " + e.Message;
            }
            Row("runs as", runs);
            if (!runs.StartsWith("not supported", StringComparison.Ordinal))
                foreach (var (name, value) in CrossEncoder.ArchitectureDetails(folder)) Row(name, value);
            // A decoder states head_dim (Qwen3: 128 at every size, not hidden / heads) and may share key/value heads.
            var headSize = c.HeadDim > 0 ? c.HeadDim : c.HeadSize;
            var keyValueHeads = c.NumKeyValueHeads > 0 && c.NumKeyValueHeads != c.NumAttentionHeads ? $" ({c.NumKeyValueHeads} key/value heads)" : "";
            Row("layers × hidden", $"{c.NumHiddenLayers} × {c.HiddenSize}, {c.NumAttentionHeads} heads of {headSize}{keyValueHeads}, intermediate {c.IntermediateSize}");
            Row("vocabulary", c.VocabSize.ToString("N0", CultureInfo.InvariantCulture));
            Row("max length", $"{summary.DefaultMaxLength:N0} tokens (max_position_embeddings {c.MaxPositionEmbeddings:N0})");
            Row("labels", c.NumLabels.ToString(CultureInfo.InvariantCulture));
            var declared = summary.SentenceTransformers;
            if (!runs.StartsWith("not supported", StringComparison.Ordinal) && CrossEncoder.IsListwise(folder))
            {
                // A listwise model's score is its reference's cosine: there is no logit and nothing to activate.
                Row("scores", "the cosine its rerank() returns, in [-1, 1], depending on the other documents of the request; no activation (--activation and --raw give the same number)");
            }
            else
            {
                Row("activation", DeclaredActivation(declared, c.NumLabels));
                if (declared.ModulesPath is not null)
                    Row("modules", $"{string.Join(" → ", declared.Modules.Select(m => m.Description))} ({SentenceTransformersConfig.ModulesFileName})");
                Row("scores", Scores(folder, CommonOptions.ActivationOf(result)));
            }
            Row("parameters", $"{summary.ParameterCount:N0} in {summary.TensorCount} tensors ({summary.TensorBytes / 1048576.0:N1} MiB)");
            Row("dtypes", string.Join(", ", summary.DTypes.Select(d => $"{d.DType}: {d.TensorCount} tensors, {d.ParameterCount:N0} parameters")));
            foreach (var file in summary.Files)
                Row("file", $"{file.Name} ({Size(file.Bytes)})");
            StdoutConsole.Create().Write(grid);   // not wrapped at 80 columns when piped
            return 0;
        }));
        return command;
    }

    // What sentence-transformers' CrossEncoder.predict applies, and which file says so.
    private static string DeclaredActivation(SentenceTransformersConfig declared, int labels) => declared.Activation switch
    {
        null => $"none declared, so sentence-transformers' CrossEncoder.predict applies {declared.PredictActivation(labels)} (its default for {labels} label{(labels == 1 ? "" : "s")})",
        { Function: { } function } a => $"{function} for sentence-transformers' CrossEncoder.predict ({a.Source} is {a.ClassName})",
        var a => $"{a.ClassName} ({a.Source}), which RerankSharp does not apply",
    };

    // What the engine applies with the --activation in effect (sigmoid unless asked), and how to get predict's numbers.
    private static string Scores(ModelFolder folder, ActivationMode mode)
    {
        if (Applied(folder, mode) is not { } applied)
            return $"not supported with --activation {Name(mode)}: the folder declares an activation RerankSharp does not apply";
        var scores = mode == ActivationMode.Sigmoid ? $"{applied} (the default for every model)" : $"{applied} (--activation {Name(mode)})";
        if (mode != ActivationMode.Model && Applied(folder, ActivationMode.Model) is { } predict)
            scores += $"; --activation model gives CrossEncoder.predict's {predict}";
        return scores + "; --raw gives the logit";
    }

    private static ScoreActivation? Applied(ModelFolder folder, ActivationMode mode)
    {
        try
        {
            return CrossEncoder.ActivationOf(folder, mode);
        }
        catch (RerankException e) when (e.Kind == RerankErrorKind.UnsupportedModel)
        {
            return null;
        }
    }

    private static string Name(ActivationMode mode) => mode.ToString().ToLowerInvariant();

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):N2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):N1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:N1} KiB",
        _ => $"{bytes} B",
    };
}
