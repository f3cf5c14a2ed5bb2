using System.Runtime.InteropServices;
using System.Text.Json;
using RerankSharp.Models;
using Slice = RerankSharp.Onnx.WeightCacheFile.Slice;

namespace RerankSharp.Onnx;

/// <summary>
/// A float32 copy of a BF16 or F16 checkpoint's tensors, made once and kept in the model folder's
/// <c>.rerank-cache/</c>, every tensor on a page boundary so that ONNX Runtime maps the file instead of reading it.
/// </summary>
/// <remarks>
/// Why: a half-width tensor reaches the graph through a <c>Cast</c> that ONNX Runtime folds at session start, which reads
/// the whole checkpoint, widens it element by element and keeps the result in anonymous memory: 14-15 s for
/// Qwen3-Reranker-0.6B (BF16) on 2 cores. A page-aligned float32 external initializer is mapped in place (0.2 s for
/// 1.2 GB, research/ort.md §external data), so later loads cost only the page-ins of the first run, and the weights
/// are file-backed pages shared with the page cache. The vocabulary tables that are only gathered row by row stay in
/// the checkpoint in their own dtype; the caller names the tensors to widen.
/// </remarks>
internal sealed class Float32WeightCache
{
    private const int FormatVersion = 1;
    // ONNX Runtime maps an external initializer when its offset is a multiple of the page size.
    private const int Alignment = 4096;

    private readonly Dictionary<string, Slice> _tensors;

    private Float32WeightCache(string relativePath, Dictionary<string, Slice> tensors)
    {
        RelativePath = relativePath;
        _tensors = tensors;
    }

    /// <summary>The cache file, relative to the model folder (where ONNX Runtime resolves external data).</summary>
    public string RelativePath { get; }

    /// <summary>Where the float32 copy of <paramref name="name"/> is, when the cache holds it.</summary>
    public bool TryGet(string name, out Slice slice) => _tensors.TryGetValue(name, out slice!);

    /// <summary>
    /// The cache of those of <paramref name="names"/> that the checkpoint stores in F16 or BF16, found or written now;
    /// null when every one of them is already float32.
    /// </summary>
    public static Float32WeightCache? LoadOrCreate(string modelDirectory, SafetensorsStore store, IEnumerable<string> names)
    {
        var widened = names.Where(n => store.Tensors.TryGetValue(n, out var e) && e.DType is TensorDType.BF16 or TensorDType.F16).ToList();
        if (widened.Count == 0) return null;
        var key = WeightCacheFile.Key(store, widened, $"float32 v{FormatVersion}");
        var folder = Path.Combine(modelDirectory, WeightCacheFile.FolderName);
        var relative = Path.Combine(WeightCacheFile.FolderName, $"float32-{key}.bin");
        var dataPath = Path.Combine(modelDirectory, relative);
        var indexPath = Path.ChangeExtension(dataPath, ".json");
        if (File.Exists(dataPath) && File.Exists(indexPath) && ReadIndex(indexPath, new FileInfo(dataPath).Length) is { } cached
            && widened.All(cached.ContainsKey))
            return new Float32WeightCache(relative, cached);
        try
        {
            Directory.CreateDirectory(folder);
            return new Float32WeightCache(relative, Write(store, widened, dataPath, indexPath));
        }
        catch (UnauthorizedAccessException e)
        {
            throw WeightCacheFile.CannotWrite(folder, "Loading a bfloat16/float16 checkpoint", e);
        }
        catch (IOException e)
        {
            throw WeightCacheFile.CannotWrite(folder, "Loading a bfloat16/float16 checkpoint", e);
        }
    }

    private static Dictionary<string, Slice> Write(SafetensorsStore store, List<string> names, string dataPath, string indexPath)
    {
        var tensors = new Dictionary<string, Slice>(StringComparer.Ordinal);
        var partial = WeightCacheFile.Partial(dataPath);
        using (var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            foreach (var name in names)
                tensors[name] = WeightCacheFile.Append(stream, MemoryMarshal.AsBytes(store.ReadAsFloat32(name).AsSpan()), store.Tensors[name].Shape, Alignment);
            // The last tensor's pages are whole too.
            stream.SetLength((stream.Length + Alignment - 1) / Alignment * Alignment);
        }
        WeightCacheFile.Publish(partial, dataPath, indexPath, JsonSerializer.Serialize(new Index(FormatVersion, tensors)));
        return tensors;
    }

    private static Dictionary<string, Slice>? ReadIndex(string indexPath, long dataLength)
    {
        try
        {
            var index = JsonSerializer.Deserialize<Index>(File.ReadAllText(indexPath));
            if (index?.Version != FormatVersion || index.Tensors is null) return null;
            if (index.Tensors.Values.Any(e => e.Offset % Alignment != 0 || e.Offset + e.Length > dataLength)) return null;
            return new Dictionary<string, Slice>(index.Tensors, StringComparer.Ordinal);
        }
        catch (JsonException)
        {
            return null;   // a damaged index is rebuilt, not trusted
        }
    }

    private sealed record Index(int Version, Dictionary<string, Slice> Tensors);
}
