using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Onnx.Proto;
using RerankSharp.Tokenization;

namespace RerankSharp.Scoring;

/// <summary>
/// What one Hugging Face architecture brings to the scoring path: the checks of its config, the graph
/// built from its weights, and how its token ids reach that graph. <see cref="For"/> is the one switch on
/// <c>architectures</c> (DESIGN.md §8); an unsupported value fails there, naming the key.
/// </summary>
internal abstract class RerankerArchitecture
{
    /// <summary>The <c>architectures</c> entry this class runs, e.g. <c>XLMRobertaForSequenceClassification</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Throws naming the config key when the config describes a model this architecture cannot build.</summary>
    public abstract void CheckSupported(ModelFolder folder);

    /// <summary>Every tensor the graph reads, with its shape for this config (the checkpoint may hold more).</summary>
    public abstract IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config);

    /// <summary>The graph over <paramref name="weights"/>, whose external data is located relative to <paramref name="weightsDirectory"/>.</summary>
    public abstract ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, GraphForm form, Precision precision);

    /// <summary>The model's tokenizer and pair template.</summary>
    public virtual PairTokenizer LoadTokenizer(ModelFolder folder) => PairTokenizer.Load(folder);

    /// <summary>Throws when a published ONNX export of this architecture cannot stand in for the built graph.</summary>
    public virtual void CheckRunsFromOnnx(ModelFolder folder)
    {
    }

    /// <summary>Architectures <see cref="For"/> knows, for messages and docs.</summary>
    public static IReadOnlyList<string> Supported { get; } = [XlmRobertaGraph.Architecture, BertGraph.Architecture];

    /// <summary>The architecture of <paramref name="folder"/>'s config.json, checked.</summary>
    /// <exception cref="RerankException"><see cref="RerankErrorKind.UnsupportedModel"/> naming <c>architectures</c> or the key that is not supported.</exception>
    public static RerankerArchitecture For(ModelFolder folder)
    {
        var config = folder.Config;
        RerankerArchitecture? architecture = null;
        foreach (var name in config.Architectures)
        {
            architecture = name switch
            {
                XlmRobertaGraph.Architecture => new XlmRobertaArchitecture(),
                BertGraph.Architecture => new BertArchitecture(),
                _ => null,
            };
            if (architecture is not null) break;
        }
        if (architecture is null)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.ConfigPath}: architectures [{string.Join(", ", config.Architectures)}] is not supported; this engine runs {string.Join(", ", Supported)} (see docs/models.md; e.g. BAAI/bge-reranker-v2-m3).");
        architecture.CheckSupported(folder);
        return architecture;
    }

    private protected static void RequireOneLabel(ModelFolder folder, string example)
    {
        if (folder.Config.NumLabels != 1)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.ConfigPath}: the model has {folder.Config.NumLabels} labels; a reranker has exactly one (a relevance logit). Use a cross-encoder reranker such as {example}.");
    }

    private sealed class XlmRobertaArchitecture : RerankerArchitecture
    {
        public override string Name => XlmRobertaGraph.Architecture;

        public override void CheckSupported(ModelFolder folder)
        {
            RequireOneLabel(folder, "BAAI/bge-reranker-v2-m3");
            XlmRobertaGraph.CheckSupported(folder.Config, folder.ConfigPath);
        }

        public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => XlmRobertaGraph.ExpectedTensors(config);

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, GraphForm form, Precision precision) =>
            XlmRobertaGraph.Build(config, weights, weightsDirectory, form, precision);
    }

    // BERT cross-encoders: ms-marco-MiniLM, TinyBERT (WordPiece), and mMiniLM (an XLM-R SentencePiece tokenizer
    // whose template gives every token type 0), whichever tokenizer the folder's files name.
    private sealed class BertArchitecture : RerankerArchitecture
    {
        public override string Name => BertGraph.Architecture;

        public override void CheckSupported(ModelFolder folder)
        {
            RequireOneLabel(folder, "cross-encoder/ms-marco-MiniLM-L6-v2");
            BertGraph.CheckSupported(folder.Config, folder.ConfigPath);
        }

        public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => BertGraph.ExpectedTensors(config);

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, GraphForm form, Precision precision) =>
            BertGraph.Build(config, weights, weightsDirectory, form, precision);
    }
}
