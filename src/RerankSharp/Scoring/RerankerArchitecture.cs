using RerankSharp.Inference;
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
    public abstract ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
        PairTokenizer tokenizer);

    /// <summary>The max length used when the caller gives none: the model folder's, unless the reference uses less.</summary>
    public virtual int DefaultMaxLength(ModelFolder folder) => folder.DefaultMaxLength;

    /// <summary>The model's tokenizer and pair template.</summary>
    public virtual PairTokenizer LoadTokenizer(ModelFolder folder) => PairTokenizer.Load(folder);

    /// <summary>
    /// The tensor names the graph reads, in words, for the message of a checkpoint that lacks one (null: the message names
    /// the missing tensors only).
    /// </summary>
    public virtual string? TensorLayout(ModelConfig config) => null;

    /// <summary>What the graph reads from the config beyond the sizes, for <c>rerank info</c> (none by default).</summary>
    public virtual IReadOnlyList<(string Name, string Value)> Details(ModelFolder folder) => [];

    /// <summary>Throws when a published ONNX export of this architecture cannot stand in for the built graph.</summary>
    public virtual void CheckRunsFromOnnx(ModelFolder folder)
    {
    }

    /// <summary>Architectures <see cref="For"/> knows, for messages and docs.</summary>
    public static IReadOnlyList<string> Supported { get; } =
        [XlmRobertaGraph.Architecture, BertGraph.Architecture, ModernBertGraph.Architecture, GteGraph.Architecture + " (GTE)", DebertaV2Graph.Architecture + " (mxbai-rerank-v1)", DecoderFamily.Qwen3.Architecture + " (Qwen3-Reranker)",
            DecoderFamily.Qwen3SequenceClassification.Architecture + " (Qwen3-Reranker seq-cls)", DecoderFamily.Qwen2.Architecture + " (mxbai-rerank-v2)",
            DecoderFamily.Gemma.Architecture + " (bge-reranker-v2-gemma)", JinaRerankerV3Graph.Architecture + " (jina-reranker-v3, listwise)"];

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
                XlmRobertaGraph.Architecture => JinaXlmRobertaGraph.IsNamedBy(config) ? new JinaXlmRobertaArchitecture() : new XlmRobertaArchitecture(),
                BertGraph.Architecture => new BertArchitecture(),
                ModernBertGraph.Architecture => new ModernBertArchitecture(),
                GteGraph.Architecture => new GteArchitecture(),
                DebertaV2Graph.Architecture => new DebertaV2Architecture(),
                "Qwen3ForCausalLM" => new DecoderArchitecture(DecoderFamily.Qwen3, folder.SentenceTransformers.LogitScore),
                "Qwen3ForSequenceClassification" => new DecoderArchitecture(DecoderFamily.Qwen3SequenceClassification, folder.SentenceTransformers.LogitScore),
                "Qwen2ForCausalLM" => new DecoderArchitecture(DecoderFamily.Qwen2, folder.SentenceTransformers.LogitScore),
                "GemmaForCausalLM" => new DecoderArchitecture(DecoderFamily.Gemma, folder.SentenceTransformers.LogitScore),
                JinaRerankerV3Graph.Architecture => new JinaRerankerV3Architecture(),
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

    // fp16 and the int8 recipes (Int8Recipe) are the shared encoder layer's (EncoderLayer); the decoder runs fp32, or
    // int8 with every projection quantized per column and per-tensor activations, which is the default recipe.
    private protected static Precision DefaultRecipeOnly(CrossEncoderOptions options)
    {
        if (options.Precision == Precision.Fp16)
            throw new RerankException(RerankErrorKind.InvalidInput,
                "fp16 is implemented for encoder models (XLM-RoBERTa, BERT, ModernBERT) only; run this architecture in fp32 or int8.");
        if (options.Precision == Precision.Int8 && options.Int8Recipe is { } recipe && !recipe.Equals(Int8Recipe.Default))
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"int8 recipe \"{recipe}\" applies to encoder models only; this architecture runs the default int8 ({Int8Recipe.Default}). Drop the recipe.");
        return options.Precision;
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

        public override string TensorLayout(ModelConfig config) => XlmRobertaGraph.TensorLayout(config);

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
            PairTokenizer tokenizer) => XlmRobertaGraph.Build(config, weights, weightsDirectory, options.GraphForm, options.Precision, options.Int8Recipe,
                options.OwnKernels && RerankKernels.UseFor(options.Device));
    }

    // jina-reranker-v2-base-multilingual: XLMRobertaForSequenceClassification in architectures, run by the code its
    // auto_map names (XLMRobertaFlashConfig): XLM-R's math under flash-attention's module names, the XLM-R tokenizer.
    private sealed class JinaXlmRobertaArchitecture : RerankerArchitecture
    {
        private XlmRobertaFlashConfig? _flash;

        public override string Name => XlmRobertaGraph.Architecture;

        private XlmRobertaFlashConfig Flash => _flash ?? throw new RerankException(RerankErrorKind.Internal, "jina-reranker-v2 config read before CheckSupported. This is a bug.");

        public override void CheckSupported(ModelFolder folder)
        {
            RequireOneLabel(folder, JinaXlmRobertaGraph.Repository);
            _flash = XlmRobertaFlashConfig.Load(folder.ConfigPath);
            JinaXlmRobertaGraph.CheckSupported(folder.Config, _flash, folder.ConfigPath);
        }

        public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => JinaXlmRobertaGraph.ExpectedTensors(config);

        public override string TensorLayout(ModelConfig config) => JinaXlmRobertaGraph.TensorLayout(config);

        public override IReadOnlyList<(string Name, string Value)> Details(ModelFolder folder) => JinaXlmRobertaGraph.Details(folder.Config, Flash);

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
            PairTokenizer tokenizer) => JinaXlmRobertaGraph.Build(config, weights, weightsDirectory, options.GraphForm, options.Precision, options.Int8Recipe,
                options.OwnKernels && RerankKernels.UseFor(options.Device));
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

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
            PairTokenizer tokenizer) => BertGraph.Build(config, weights, weightsDirectory, options.GraphForm, options.Precision,
                options.OwnKernels && RerankKernels.UseFor(options.Device), options.Int8Recipe);
    }

    // ModernBERT cross-encoders: Alibaba-NLP/gte-reranker-modernbert-base, the Ettin rerankers. Their byte-level BPE
    // tokenizer.json pairs texts as [CLS] q [SEP] d [SEP] (TemplateBpeTokenizer); the model takes no token types.
    private sealed class ModernBertArchitecture : RerankerArchitecture
    {
        private ModernBertConfig? _modernBert;

        public override string Name => ModernBertGraph.Architecture;

        private ModernBertConfig ModernBert => _modernBert ?? throw new RerankException(RerankErrorKind.Internal, "ModernBERT config read before CheckSupported. This is a bug.");

        public override void CheckSupported(ModelFolder folder)
        {
            RequireOneLabel(folder, "Alibaba-NLP/gte-reranker-modernbert-base");
            _modernBert = ModernBertConfig.Load(folder.ConfigPath, folder.Config.NumHiddenLayers);
            ModernBertGraph.CheckSupported(folder.Config, _modernBert, folder.ConfigPath);
        }

        public override PairTokenizer LoadTokenizer(ModelFolder folder) =>
            PairTokenizer.Load(folder) as TemplateBpeTokenizer ?? throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.Directory}: a ModernBERT reranker needs its byte-level BPE tokenizer.json with a [CLS] … [SEP] template (TemplateProcessing post-processor).");

        public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => ModernBertGraph.ExpectedTensors(config, ModernBert);

        public override IReadOnlyList<(string Name, string Value)> Details(ModelFolder folder)
        {
            var m = ModernBert;
            var layers = folder.Config.NumHiddenLayers;
            var global = Enumerable.Range(0, layers).Where(m.IsGlobal).ToList();
            string Thetas(IEnumerable<int> which) => string.Join(", ", which.Select(l => m.LayerRopeTheta[l]).Distinct().Select(t => t.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            var local = Enumerable.Range(0, layers).Except(global).ToList();
            return
            [
                ("attention", $"global on {global.Count} of {layers} layers (every {m.GlobalAttnEveryNLayers}{(m.GlobalAttnEveryNLayers == 1 ? "" : m.GlobalAttnEveryNLayers == 2 ? "nd" : m.GlobalAttnEveryNLayers == 3 ? "rd" : "th")}, rope theta {Thetas(global)})"
                    + (local.Count > 0 ? $"; the others see ±{m.HalfWindow} tokens (local_attention {m.LocalAttention}, rope theta {Thetas(local)})" : "")),
                ("head", $"{(m.ClassifierPooling == "mean" ? "mean over the real tokens" : "first token ([CLS])")} → dense → {m.ClassifierActivation} → norm → classifier"),
            ];
        }

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
            PairTokenizer tokenizer) => ModernBertGraph.Build(config, ModernBert, weights, weightsDirectory, options.GraphForm, options.Precision,
                options.Int8Recipe, options.OwnKernels && RerankKernels.UseFor(options.Device));
    }

    // GTE "new" rerankers: Alibaba-NLP/gte-multilingual-reranker-base (new-impl's NewForSequenceClassification) with the
    // XLM-R SentencePiece tokenizer, <s> q </s></s> d </s>, every token type 0.
    private sealed class GteArchitecture : RerankerArchitecture
    {
        private GteConfig? _gte;

        public override string Name => GteGraph.Architecture;

        private GteConfig Gte => _gte ?? throw new RerankException(RerankErrorKind.Internal, "GTE config read before CheckSupported. This is a bug.");

        public override void CheckSupported(ModelFolder folder)
        {
            RequireOneLabel(folder, "Alibaba-NLP/gte-multilingual-reranker-base");
            _gte = GteConfig.Load(folder.ConfigPath);
            GteGraph.CheckSupported(folder.Config, _gte, folder.ConfigPath);
        }

        public override PairTokenizer LoadTokenizer(ModelFolder folder) =>
            PairTokenizer.Load(folder) as XlmRobertaTokenizer ?? throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.Directory}: a GTE reranker needs its XLM-R SentencePiece tokenizer (tokenizer.json of type Unigram, or sentencepiece.bpe.model).");

        public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => GteGraph.ExpectedTensors(config, Gte);

        public override IReadOnlyList<(string Name, string Value)> Details(ModelFolder folder) =>
        [
            ("positions", Gte.DescribeRope()),
            ("layer", $"post-LN, merged qkv_proj, gated MLP up · {folder.Config.HiddenAct}(gate)"
                + (Gte.UnpadInputs || Gte.UseMemoryEfficientAttention ? " (unpad_inputs / use_memory_efficient_attention: same results)" : "")),
            ("head", "first token (<s>) → pooler dense → tanh → classifier"),
        ];

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
            PairTokenizer tokenizer) => GteGraph.Build(config, Gte, weights, weightsDirectory, options.GraphForm, options.Precision,
                options.Int8Recipe, options.OwnKernels && RerankKernels.UseFor(options.Device));
    }

    // DeBERTa-v2/v3 rerankers: mixedbread-ai/mxbai-rerank-*-v1 (transformers' DebertaV2ForSequenceClassification) with the
    // SentencePiece tokenizer.json DebertaV2Converter writes: [CLS] q [SEP] d [SEP], the document in segment 1.
    private sealed class DebertaV2Architecture : RerankerArchitecture
    {
        private DebertaV2Config? _deberta;

        public override string Name => DebertaV2Graph.Architecture;

        private DebertaV2Config Deberta => _deberta ?? throw new RerankException(RerankErrorKind.Internal, "DeBERTa config read before CheckSupported. This is a bug.");

        public override void CheckSupported(ModelFolder folder)
        {
            RequireOneLabel(folder, "mixedbread-ai/mxbai-rerank-base-v1");
            _deberta = DebertaV2Config.Load(folder.ConfigPath, folder.Config);
            DebertaV2Graph.CheckSupported(folder.Config, _deberta, folder.ConfigPath);
        }

        public override PairTokenizer LoadTokenizer(ModelFolder folder) =>
            PairTokenizer.Load(folder) is XlmRobertaTokenizer { IsDebertaV2: true } tokenizer ? tokenizer : throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.Directory}: a DeBERTa-v2/v3 reranker needs its SentencePiece tokenizer.json with the [CLS] A [SEP] B [SEP] template (transformers' DebertaV2Converter layout).");

        public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => DebertaV2Graph.ExpectedTensors(config, Deberta);

        public override string TensorLayout(ModelConfig config) => DebertaV2Graph.TensorLayout(config, Deberta);

        public override IReadOnlyList<(string Name, string Value)> Details(ModelFolder folder) =>
        [
            ("attention", Deberta.DescribeAttention()),
            ("embeddings", "word" + (Deberta.PositionBiasedInput ? " + absolute positions" : "") + (Deberta.TypeVocabSize > 0 ? " + token types" : "")
                + (Deberta.EmbeddingSize != folder.Config.HiddenSize ? $" (embedding_size {Deberta.EmbeddingSize} → embed_proj)" : "") + " → LayerNorm"),
            ("head", $"first token ([CLS]) → pooler dense → {Deberta.PoolerHiddenAct} → classifier"),
        ];

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
            PairTokenizer tokenizer) => DebertaV2Graph.Build(config, Deberta, weights, weightsDirectory, options.GraphForm, options.Precision,
                options.Int8Recipe, options.OwnKernels && RerankKernels.UseFor(options.Device));
    }

    // The decoder rerankers, read at the last token through their prompts: Qwen3-Reranker (Qwen3RerankerTokenizer, the
    // model card's yes/no rows of lm_head, or the converted seq-cls score row), mxbai-rerank-v2 on Qwen2 and
    // bge-reranker-v2-gemma on Gemma (DecoderPromptTokenizer with the reference package's prompt and score tokens).
    // A sentence-transformers folder's LogitScore (modules.json) is the scoring spec when there is one: its token ids
    // are the rows read, as sentence-transformers reads them; else the family's preset (the tokenizer's answer tokens).
    private sealed class DecoderArchitecture(DecoderFamily family, SentenceTransformersModule? logitScore) : RerankerArchitecture
    {
        // The model cards' max_length (Qwen3-Reranker, mxbai-rerank-v2's package); the configs allow 32k-40k positions,
        // which the references never feed. FlagLLMReranker's default is a 512-token passage, ours the whole prompt.
        private const int ModelCardMaxLength = 8192;

        public override string Name => family.Architecture;

        public override void CheckSupported(ModelFolder folder)
        {
            if (family.SequenceClassification) RequireOneLabel(folder, "tomaarsen/Qwen3-Reranker-0.6B-seq-cls");
            DecoderGraph.CheckSupported(folder.Config, family, folder.ConfigPath);
        }

        // The prompt and score of the reference package, for the families that take one (Qwen3's is its own tokenizer's).
        private DecoderPrompt? Prompt => family == DecoderFamily.Qwen2 ? DecoderPrompt.MxbaiRerankV2 : family == DecoderFamily.Gemma ? DecoderPrompt.BgeRerankerV2Gemma : null;

        public override PairTokenizer LoadTokenizer(ModelFolder folder)
        {
            var loaded = PairTokenizer.Load(folder);
            return (Prompt, loaded) switch
            {
                ({ } mxbai, Qwen3RerankerTokenizer qwen) when family == DecoderFamily.Qwen2 => new DecoderPromptTokenizer(qwen.Bpe, mxbai, "<|im_start|>", "<|im_end|>", "<|endoftext|>"),
                (null, Qwen3RerankerTokenizer qwen3) => qwen3,
                ({ } bge, DecoderPromptTokenizer gemma) when gemma.Prompt == bge => gemma,
                _ => throw new RerankException(RerankErrorKind.UnsupportedModel, $"{folder.Directory}: a {Prompt?.Name ?? "Qwen3 reranker"} needs "
                    + (family == DecoderFamily.Gemma ? "Gemma's tokenizer.json (BPE with byte_fallback)." : "its byte-level BPE tokenizer (tokenizer.json of type BPE, or vocab.json with merges.txt).")),
            };
        }

        public override int DefaultMaxLength(ModelFolder folder) => Math.Min(ModelCardMaxLength, folder.DefaultMaxLength);

        public override void CheckRunsFromOnnx(ModelFolder folder) =>
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{folder.Directory}: decoder rerankers are not run from ONNX exports (theirs take a key/value cache and return the full vocabulary); use the safetensors checkpoint.");

        public override IEnumerable<(string Name, long[] Shape)> ExpectedTensors(ModelConfig config) => DecoderGraph.ExpectedTensors(config, family);

        public override IReadOnlyList<(string Name, string Value)> Details(ModelFolder folder) =>
            Prompt is { } prompt ? [("prompt", $"{prompt.Name}'s, score {prompt.ScoreFormula}")] : [];

        public override ModelProto BuildGraph(ModelConfig config, SafetensorsStore weights, string weightsDirectory, CrossEncoderOptions options,
            PairTokenizer tokenizer)
        {
            var score = logitScore is { TrueTokenId: { } trueId } ? new DecoderScore(trueId, logitScore.FalseTokenId) : tokenizer switch
            {
                Qwen3RerankerTokenizer qwen3 => new DecoderScore(qwen3.YesId, qwen3.NoId),
                DecoderPromptTokenizer prompt => new DecoderScore(prompt.TrueId, prompt.FalseId),
                _ => throw new RerankException(RerankErrorKind.Internal, $"{family.Architecture} built with a {tokenizer.GetType().Name}. This is a bug."),
            };
            return DecoderGraph.Build(config, family, weights, weightsDirectory, score, DefaultRecipeOnly(options), prefixCache: options.ReusePromptPrefix);
        }
    }
}
