using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Tokenization;

namespace RerankSharp.Fuzz;

/// <summary>The files of a model folder, each through the loader that reads it at <c>CrossEncoder.LoadAsync</c>.</summary>
internal static class ModelFileTargets
{
    public static void Safetensors(byte[] input)
    {
        var path = Fixtures.WriteScratch("model.safetensors", input);
        try
        {
            using var store = SafetensorsStore.Open([path]);
            // Reading every tensor touches each offset the header declared, through the mapping.
            foreach (var (name, entry) in store.Tensors)
            {
                _ = store.GetBytes(name).Length;
                if (entry.DType.IsReadableAsFloat32()) _ = store.ReadAsFloat32(name);
            }
            store.Validate([("roberta.embeddings.word_embeddings.weight", [4, 2])]);
        }
        catch (RerankException)
        {
        }
    }

    public static void SafetensorsIndex(byte[] input)
    {
        var path = Fixtures.WriteScratch("model.safetensors.index.json", input);
        try
        {
            var index = Models.SafetensorsIndex.Load(path);
            // Shard names are joined to the folder by the store; they must never leave it.
            foreach (var shard in index.ShardNames)
                if (Path.GetDirectoryName(Path.GetFullPath(Path.Combine(index.Directory, shard))) != index.Directory)
                    throw new InvalidOperationException($"Shard name '{shard}' escapes the index's folder.");
        }
        catch (RerankException)
        {
        }
    }

    public static void ConfigJson(byte[] input)
    {
        var path = Fixtures.WriteScratch("config.json", input);
        try
        {
            var config = ModelConfig.Load(path);
            XlmRobertaGraph.CheckSupported(config, path);
            foreach (var (_, shape) in XlmRobertaGraph.ExpectedTensors(config))
                if (shape.Any(d => d < 0)) throw new InvalidOperationException($"A tensor shape from config.json has a negative dimension: [{string.Join(", ", shape)}].");
        }
        catch (RerankException)
        {
        }
    }

    public static void TokenizerConfigJson(byte[] input)
    {
        var path = Fixtures.WriteScratch("tokenizer_config.json", input);
        try
        {
            var config = TokenizerConfig.Load(path);
            if (config.ModelMaxLength is < 1) throw new InvalidOperationException($"model_max_length {config.ModelMaxLength} was accepted.");
        }
        catch (RerankException)
        {
        }
    }

    public static void TokenizerJson(byte[] input)
    {
        var path = Fixtures.WriteScratch("tokenizer.json", input);
        try
        {
            switch (PairTokenizer.FromAnyTokenizerJson(path))
            {
                case XlmRobertaTokenizer xlmr: TextTargets.Exercise(xlmr); break;
                case var other: TextTargets.ExerciseAny(other); break;
            }
        }
        catch (RerankException)
        {
        }
    }

    public static void SentencePieceModel(byte[] input)
    {
        var path = Fixtures.WriteScratch("sentencepiece.bpe.model", input);
        try
        {
            TextTargets.Exercise(XlmRobertaTokenizer.FromSentencePieceModel(path));
        }
        catch (RerankException)
        {
        }
    }
}
