using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RerankSharp.Models;

namespace RerankSharp.Onnx;

/// <summary>
/// int8 copies of the encoder's weight matrices for ONNX Runtime's <c>DynamicQuantizeMatMul</c>:
/// per output column, symmetric, <c>B</c> int8 [in, out] and <c>b_scale</c> float [out]. Made once
/// from the checkpoint and kept on disk next to the model (<c>.rerank-cache/</c>), so later loads map
/// them like the fp32 weights instead of quantizing again.
/// </summary>
internal sealed class Int8WeightCache
{
    public const string FolderName = ".rerank-cache";
    private const int FormatVersion = 1;
    private const int Alignment = 64;

    private readonly Dictionary<string, (Slice Weight, Slice Scale)> _tensors;

    private Int8WeightCache(string relativePath, Dictionary<string, (Slice, Slice)> tensors)
    {
        RelativePath = relativePath;
        _tensors = tensors;
    }

    /// <summary>A tensor's place in the cache file.</summary>
    public sealed record Slice(long Offset, long Length, long[] Shape);

    /// <summary>The cache file, relative to the model folder (where ONNX Runtime resolves external data).</summary>
    public string RelativePath { get; }

    public (Slice Weight, Slice Scale) this[string name] => _tensors[name];

    /// <summary>
    /// Finds the cache for these checkpoint tensors, or quantizes them and writes it. The key covers the
    /// tensors' names, files, offsets and the files' sizes and modification times, so a changed
    /// checkpoint gets a new cache rather than stale weights.
    /// </summary>
    public static Int8WeightCache LoadOrCreate(string modelDirectory, SafetensorsStore store, IReadOnlyList<string> matrixNames)
    {
        var key = Key(store, matrixNames);
        var folder = Path.Combine(modelDirectory, FolderName);
        var relative = Path.Combine(FolderName, $"int8-{key}.bin");
        var dataPath = Path.Combine(modelDirectory, relative);
        var indexPath = Path.ChangeExtension(dataPath, ".json");
        if (File.Exists(dataPath) && File.Exists(indexPath))
        {
            var cached = ReadIndex(indexPath, new FileInfo(dataPath).Length);
            if (cached is not null && matrixNames.All(cached.ContainsKey)) return new Int8WeightCache(relative, cached);
        }

        try
        {
            Directory.CreateDirectory(folder);
            var tensors = Write(store, matrixNames, dataPath, indexPath);
            return new Int8WeightCache(relative, tensors);
        }
        catch (UnauthorizedAccessException e)
        {
            throw CannotWrite(folder, e);
        }
        catch (IOException e)
        {
            throw CannotWrite(folder, e);
        }
    }

    private static RerankException CannotWrite(string folder, Exception e) =>
        new(RerankErrorKind.InvalidInput,
            $"int8 needs to keep quantized weights in {folder}, which cannot be written ({e.Message}); make the model folder writable, copy the model to a writable folder, or use fp32.", e);

    /// <summary>Per-column symmetric int8 of W [out, in] as B [in, out] with scale [out].</summary>
    internal static (sbyte[] B, float[] Scale) Quantize(float[] w, int outFeatures, int inFeatures)
    {
        var scale = new float[outFeatures];
        var b = new sbyte[w.Length];
        for (var n = 0; n < outFeatures; n++)
        {
            var row = w.AsSpan(n * inFeatures, inFeatures);
            var max = 0f;
            foreach (var x in row) max = Math.Max(max, Math.Abs(x));
            // 127, not 128: a symmetric range keeps zero exact and -x the negation of x.
            var s = max > 0 ? max / 127f : 1f;
            scale[n] = s;
            for (var k = 0; k < inFeatures; k++)
                b[k * outFeatures + n] = (sbyte)Math.Clamp(MathF.Round(row[k] / s, MidpointRounding.ToEven), -127, 127);
        }
        return (b, scale);
    }

    private static Dictionary<string, (Slice, Slice)> Write(SafetensorsStore store, IReadOnlyList<string> names, string dataPath, string indexPath)
    {
        var tensors = new Dictionary<string, (Slice, Slice)>(StringComparer.Ordinal);
        var partial = $"{dataPath}.partial-{Environment.ProcessId}";
        using (var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            foreach (var name in names)
            {
                var entry = store.Tensors[name];
                int outFeatures = checked((int)entry.Shape[0]), inFeatures = checked((int)entry.Shape[1]);
                var (b, scale) = Quantize(store.ReadAsFloat32(name), outFeatures, inFeatures);
                var weight = Append(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()), [inFeatures, outFeatures]);
                var scales = Append(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(scale.AsSpan()), [outFeatures]);
                tensors[name] = (weight, scales);
            }
        }
        var index = JsonSerializer.Serialize(new Index(FormatVersion,
            tensors.ToDictionary(t => t.Key, t => new IndexEntry(t.Value.Item1, t.Value.Item2))));
        // Data first, index last: an index only ever describes a complete data file.
        File.Move(partial, dataPath, overwrite: true);
        File.WriteAllText(indexPath + ".partial", index);
        File.Move(indexPath + ".partial", indexPath, overwrite: true);
        return tensors;
    }

    private static Slice Append(FileStream stream, ReadOnlySpan<byte> bytes, long[] shape)
    {
        var padding = (int)((Alignment - stream.Position % Alignment) % Alignment);
        if (padding > 0) stream.Write(new byte[padding]);
        var slice = new Slice(stream.Position, bytes.Length, shape);
        stream.Write(bytes);
        return slice;
    }

    private static Dictionary<string, (Slice, Slice)>? ReadIndex(string indexPath, long dataLength)
    {
        try
        {
            var index = JsonSerializer.Deserialize<Index>(File.ReadAllText(indexPath));
            if (index?.Version != FormatVersion || index.Tensors is null) return null;
            if (index.Tensors.Values.Any(e => e.Weight.Offset + e.Weight.Length > dataLength || e.Scale.Offset + e.Scale.Length > dataLength)) return null;
            return index.Tensors.ToDictionary(t => t.Key, t => (t.Value.Weight, t.Value.Scale), StringComparer.Ordinal);
        }
        catch (JsonException)
        {
            return null;   // a damaged index is rebuilt, not trusted
        }
    }

    private static string Key(SafetensorsStore store, IReadOnlyList<string> names)
    {
        var text = new StringBuilder($"v{FormatVersion}\n");
        foreach (var file in store.Files)
        {
            var info = new FileInfo(file);
            var target = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
            text.Append($"{Path.GetFileName(file)} {target.Length} {target.LastWriteTimeUtc.Ticks}\n");
        }
        foreach (var name in names)
        {
            var e = store.Tensors[name];
            text.Append($"{name} {Path.GetFileName(e.FilePath)} {e.FileOffset} {e.ByteLength} {e.DType}\n");
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    private sealed record Index(int Version, Dictionary<string, IndexEntry> Tensors);

    private sealed record IndexEntry(Slice Weight, Slice Scale);
}
