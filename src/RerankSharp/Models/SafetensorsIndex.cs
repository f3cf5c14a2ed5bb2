using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// A sharded checkpoint's <c>model.safetensors.index.json</c>:
/// <c>{"metadata": {"total_size": …}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", …}}</c>.
/// </summary>
internal sealed class SafetensorsIndex
{
    public const string FileName = "model.safetensors.index.json";
    private const string FixIt = "re-download " + FileName + " from the Hugging Face hub";

    private SafetensorsIndex(string path, IReadOnlyDictionary<string, string> weightMap, IReadOnlyList<string> shardNames)
    {
        Path = path;
        WeightMap = weightMap;
        ShardNames = shardNames;
    }

    public string Path { get; }

    /// <summary>The folder the shard names are relative to.</summary>
    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    /// <summary>Tensor name → shard file name (a bare name in <see cref="Directory"/>).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>The distinct shard file names, in ordinal order (model-00001-…, model-00002-…).</summary>
    public IReadOnlyList<string> ShardNames { get; }

    public static SafetensorsIndex Load(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        using JsonDocument document = JsonFile.Read(path, FixIt);
        JsonObjectReader json = JsonObjectReader.Root(document, path, FixIt);
        JsonObjectReader weightMapJson = json.OptionalObject("weight_map")
            ?? throw json.Invalid("\"weight_map\" is missing");

        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty entry in weightMapJson.Properties())
        {
            if (entry.Value.ValueKind != JsonValueKind.String || entry.Value.GetString() is not { Length: > 0 } shard)
                throw json.Invalid($"weight_map entry '{entry.Name}' must name a shard file, but is {JsonFile.Describe(entry.Value)}");
            // Shards sit beside the index on the hub. A name that climbs out of the folder is either
            // corruption or a file crafted to make the loader map something else.
            if (shard != System.IO.Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\'))
                throw json.Invalid($"weight_map entry '{entry.Name}' names '{shard}', which is not a file in the index's folder");
            if (!weightMap.TryAdd(entry.Name, shard))
                throw json.Invalid($"weight_map lists tensor '{entry.Name}' twice");
        }
        if (weightMap.Count == 0)
            throw json.Invalid("\"weight_map\" names no tensors");

        string[] shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return new SafetensorsIndex(path, weightMap, shardNames);
    }
}
