using System.Text.Json;
using RerankSharp.Models;
using DataType = RerankSharp.Onnx.Proto.TensorProto.Types.DataType;

using Slice = RerankSharp.Onnx.WeightCacheFile.Slice;

namespace RerankSharp.Onnx;

/// <summary>
/// Quantized copies of the encoder's weight matrices, made once from the checkpoint and kept on disk
/// next to the model (<c>.rerank-cache/</c>), so later loads map them like the fp32 weights instead of
/// quantizing again. <see cref="Int8Layout.PerColumn"/>: for ONNX Runtime's integer GEMMs, per output
/// column, symmetric, <c>B</c> int8 [in, out] and <c>b_scale</c> float [out].
/// <see cref="Int8Layout.Block32Float"/>: the q8_0 yardstick, fp32 [out, in] holding the weights as
/// int8 per block of 32 would give them back. <see cref="Int8Layout.PerColumnUnsigned"/>: as per column, with
/// B stored as uint8 (the int8 value + 128, zero point 128), for x86 CPUs without VNNI; see <see cref="IntegerLayoutForThisCpu"/>.
/// </summary>
internal sealed class Int8WeightCache
{
    public const string FolderName = WeightCacheFile.FolderName;
    private const int FormatVersion = 2;
    private const int Alignment = 64;

    private readonly Dictionary<string, (Slice Weight, Slice Scale)> _tensors;

    private Int8WeightCache(string relativePath, Dictionary<string, (Slice, Slice)> tensors, Int8Layout layout)
    {
        RelativePath = relativePath;
        Layout = layout;
        _tensors = tensors;
    }

    /// <summary>The cache file, relative to the model folder (where ONNX Runtime resolves external data).</summary>
    public string RelativePath { get; }

    public (Slice Weight, Slice Scale) this[string name] => _tensors[name];

    /// <summary>What this cache holds.</summary>
    public Int8Layout Layout { get; }

    /// <summary>
    /// The layout ONNX Runtime's integer GEMMs compute exactly on this CPU. On x86 without VNNI, MLAS multiplies
    /// uint8 activations by int8 weights with <c>vpmaddubsw</c>, which adds two u8·s8 products into a saturating
    /// int16: 2 · 255 · 127 overflows it, and measured on a Zen 3 (AVX2) machine the tiny fixtures' int8 logits moved
    /// by up to 2.2 instead of 0.3. Its uint8 × uint8 kernel widens both to int16 first (<c>vpmaddwd</c>) and cannot
    /// saturate, so there the weights are stored unsigned with zero point 128: the same 255 levels, the same values.
    /// VNNI's <c>vpdpbusd</c> (and ARM's kernels) accumulate in int32 and keep the signed layout.
    /// </summary>
    public static Int8Layout IntegerLayoutForThisCpu { get; } = UnsignedWeightsNeeded() ? Int8Layout.PerColumnUnsigned : Int8Layout.PerColumn;

    /// <summary>
    /// The inputs after the activation for an integer GEMM node over <paramref name="name"/>'s cached weight
    /// (<c>DynamicQuantizeMatMul</c>'s B, b_scale and b_zero_point; <c>MatMulInteger</c> takes B and the zero point),
    /// added to <paramref name="graph"/> once per tensor.
    /// </summary>
    public (string B, string Scale, string? ZeroPoint) IntegerWeight(OnnxGraphBuilder graph, string name)
    {
        if (Layout is Int8Layout.Block32Float or Int8Layout.Block32Int8)
            throw new RerankException(RerankErrorKind.Internal, $"{name}: a {Layout} cache holds no per-column integer weights. This is a bug.");
        var (weight, scale) = _tensors[name];
        var unsigned = Layout == Int8Layout.PerColumnUnsigned;
        var b = graph.AddExternalInitializer($"{name}.{(unsigned ? "uint8" : "int8")}", unsigned ? DataType.Uint8 : DataType.Int8,
            weight.Shape, RelativePath, weight.Offset, weight.Length);
        var bScale = graph.AddExternalInitializer($"{name}.scale", DataType.Float, scale.Shape, RelativePath, scale.Offset, scale.Length);
        return (b, bScale, unsigned ? graph.AddUInt8Constant($"{name}.zero_point", 128) : null);
    }

    /// <summary>
    /// <c>MatMulNBits</c>' B and scales for a <see cref="Int8Layout.Block32Int8"/> cache: uint8 [out, ⌈in/32⌉, 32] codes
    /// (q + 128, the operator's default 8-bit zero point) and float [out · ⌈in/32⌉] block scales.
    /// </summary>
    public (string B, string Scales) BlockWeight(OnnxGraphBuilder graph, string name)
    {
        if (Layout != Int8Layout.Block32Int8)
            throw new RerankException(RerankErrorKind.Internal, $"{name}: a {Layout} cache holds no block-quantized weights. This is a bug.");
        var (weight, scale) = _tensors[name];
        return (graph.AddExternalInitializer($"{name}.q8_0_blocks", DataType.Uint8, weight.Shape, RelativePath, weight.Offset, weight.Length),
            graph.AddExternalInitializer($"{name}.q8_0_scales", DataType.Float, scale.Shape, RelativePath, scale.Offset, scale.Length));
    }

    /// <summary>The float weight of a <see cref="Int8Layout.Block32Float"/> cache (q8_0 rounding), [out, in].</summary>
    public string RoundedWeight(OnnxGraphBuilder graph, string name)
    {
        var (weight, _) = _tensors[name];
        return graph.AddExternalInitializer($"{name}.q8_0", DataType.Float, weight.Shape, RelativePath, weight.Offset, weight.Length);
    }

    private static bool UnsignedWeightsNeeded()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported) return false;
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported || System.Runtime.Intrinsics.X86.Avx10v1.IsSupported) return false;
        // .NET has no AVX-512 VNNI probe of its own; Linux names it in /proc/cpuinfo. Elsewhere the unsigned layout
        // is the safe choice: exact everywhere, a little slower than VNNI's signed kernel.
        try
        {
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return flags is null || !flags.Split(' ').Contains("avx512_vnni", StringComparer.Ordinal);
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>
    /// Finds the cache for these checkpoint tensors, or quantizes them and writes it. The key covers the
    /// tensors' names, files, offsets and the files' sizes and modification times, so a changed
    /// checkpoint gets a new cache rather than stale weights.
    /// </summary>
    /// <remarks>
    /// <paramref name="columnScales"/>: SmoothQuant's factors by weight name (<see cref="Int8Smoothing"/>); those
    /// matrices are quantized as W · diag(s). <paramref name="variant"/> names them in the key (the statistics' hash).
    /// </remarks>
    public static Int8WeightCache LoadOrCreate(string modelDirectory, SafetensorsStore store, IReadOnlyList<string> matrixNames,
        Int8Layout? layout = null, IReadOnlyDictionary<string, float[]>? columnScales = null, string? variant = null)
    {
        var chosen = layout ?? IntegerLayoutForThisCpu;
        var key = Key(store, matrixNames, chosen, variant);
        var folder = Path.Combine(modelDirectory, FolderName);
        var stem = chosen switch { Int8Layout.PerColumn => "int8", Int8Layout.PerColumnUnsigned => "uint8", Int8Layout.Block32Int8 => "q8_0-blocks", _ => "q8_0" };
        if (variant is not null) stem = "smooth-" + stem;
        var relative = Path.Combine(FolderName, $"{stem}-{key}.bin");
        var dataPath = Path.Combine(modelDirectory, relative);
        var indexPath = Path.ChangeExtension(dataPath, ".json");
        if (File.Exists(dataPath) && File.Exists(indexPath))
        {
            var cached = ReadIndex(indexPath, new FileInfo(dataPath).Length);
            if (cached is not null && matrixNames.All(cached.ContainsKey)) return new Int8WeightCache(relative, cached, chosen);
        }

        try
        {
            Directory.CreateDirectory(folder);
            var tensors = Write(store, matrixNames, dataPath, indexPath, chosen, columnScales);
            return new Int8WeightCache(relative, tensors, chosen);
        }
        catch (UnauthorizedAccessException e)
        {
            throw WeightCacheFile.CannotWrite(folder, "int8 (or use fp32)", e);
        }
        catch (IOException e)
        {
            throw WeightCacheFile.CannotWrite(folder, "int8 (or use fp32)", e);
        }
    }

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

    /// <summary>
    /// q8_0 as llama.cpp does it, turned back into float: per block of 32 along a row of W [out, in],
    /// d = max|x| / 127 stored as fp16, q = round(x / d), value q · d.
    /// </summary>
    internal static float[] RoundBlock32(float[] w, int inFeatures)
    {
        const int block = 32;
        var result = new float[w.Length];
        for (var start = 0; start < w.Length; start += block)
        {
            var end = Math.Min(start + block, (start / inFeatures + 1) * inFeatures);
            var max = 0f;
            for (var i = start; i < end; i++) max = Math.Max(max, Math.Abs(w[i]));
            var d = (float)(Half)(max / 127f);
            var inverse = d > 0 ? 1f / d : 0f;
            for (var i = start; i < end; i++)
                result[i] = Math.Clamp(MathF.Round(w[i] * inverse, MidpointRounding.AwayFromZero), -127, 127) * d;
            if (end != start + block) start = end - block;   // a row shorter than a block restarts at the next row
        }
        return result;
    }

    /// <summary>
    /// q8_0's blocks as <c>MatMulNBits</c> (bits 8, block 32) reads them: along each row of W [out, in], per block of 32,
    /// d = max|x| / 127 rounded to fp16 (as llama.cpp stores it), q = round(x / d) away from zero; codes q + 128 as
    /// uint8 [out, ⌈in/32⌉, 32], a row's last block padded with code 128 (zero); scales d as float [out · ⌈in/32⌉]. The
    /// weights it stands for are exactly <see cref="RoundBlock32"/>'s.
    /// </summary>
    internal static (byte[] Codes, float[] Scales) QuantizeBlock32(float[] w, int outFeatures, int inFeatures)
    {
        const int block = 32;
        var blocks = (inFeatures + block - 1) / block;
        var codes = new byte[outFeatures * blocks * block];
        Array.Fill(codes, (byte)128);
        var scales = new float[outFeatures * blocks];
        for (var n = 0; n < outFeatures; n++)
            for (var b = 0; b < blocks; b++)
            {
                int start = n * inFeatures + b * block, end = n * inFeatures + Math.Min(inFeatures, (b + 1) * block);
                var max = 0f;
                for (var i = start; i < end; i++) max = Math.Max(max, Math.Abs(w[i]));
                var d = (float)(Half)(max / 127f);
                var inverse = d > 0 ? 1f / d : 0f;
                scales[n * blocks + b] = d;
                for (var i = start; i < end; i++)
                    codes[(n * blocks + b) * block + (i - start)] = (byte)(Math.Clamp(MathF.Round(w[i] * inverse, MidpointRounding.AwayFromZero), -127, 127) + 128);
            }
        return (codes, scales);
    }

    private static Dictionary<string, (Slice, Slice)> Write(SafetensorsStore store, IReadOnlyList<string> names, string dataPath, string indexPath,
        Int8Layout layout, IReadOnlyDictionary<string, float[]>? columnScales)
    {
        float[] Read(string name, int outFeatures, int inFeatures)
        {
            var w = store.ReadAsFloat32(name);
            if (columnScales is not null && columnScales.TryGetValue(name, out var s)) Int8Smoothing.ScaleColumns(w, outFeatures, inFeatures, s);
            return w;
        }

        var tensors = new Dictionary<string, (Slice, Slice)>(StringComparer.Ordinal);
        var partial = WeightCacheFile.Partial(dataPath);
        using (var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            foreach (var name in names)
            {
                var entry = store.Tensors[name];
                int outFeatures = checked((int)entry.Shape[0]), inFeatures = checked((int)entry.Shape[1]);
                if (layout == Int8Layout.Block32Float)
                {
                    var rounded = RoundBlock32(Read(name, outFeatures, inFeatures), inFeatures);
                    var slice = Append(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(rounded.AsSpan()), [outFeatures, inFeatures]);
                    tensors[name] = (slice, slice);
                    continue;
                }
                if (layout == Int8Layout.Block32Int8)
                {
                    var (codes, blockScales) = QuantizeBlock32(Read(name, outFeatures, inFeatures), outFeatures, inFeatures);
                    var blocks = (inFeatures + 31) / 32;
                    tensors[name] = (Append(stream, codes, [outFeatures, blocks, 32]),
                        Append(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(blockScales.AsSpan()), [outFeatures * blocks]));
                    continue;
                }
                var (b, scale) = Quantize(Read(name, outFeatures, inFeatures), outFeatures, inFeatures);
                var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan());
                if (layout == Int8Layout.PerColumnUnsigned)
                    for (var i = 0; i < bytes.Length; i++) bytes[i] ^= 0x80;   // int8 v → uint8 v + 128
                var weight = Append(stream, bytes, [inFeatures, outFeatures]);
                var scales = Append(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(scale.AsSpan()), [outFeatures]);
                tensors[name] = (weight, scales);
            }
        }
        var index = JsonSerializer.Serialize(new Index(FormatVersion,
            tensors.ToDictionary(t => t.Key, t => new IndexEntry(t.Value.Item1, t.Value.Item2))));
        WeightCacheFile.Publish(partial, dataPath, indexPath, index);
        return tensors;
    }

    private static Slice Append(FileStream stream, ReadOnlySpan<byte> bytes, long[] shape) => WeightCacheFile.Append(stream, bytes, shape, Alignment);

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

    private static string Key(SafetensorsStore store, IReadOnlyList<string> names, Int8Layout layout, string? variant) =>
        WeightCacheFile.Key(store, names, $"v{FormatVersion} {layout}{(variant is null ? "" : " smooth " + variant)}");

    private sealed record Index(int Version, Dictionary<string, IndexEntry> Tensors);

    private sealed record IndexEntry(Slice Weight, Slice Scale);
}

/// <summary>What an <see cref="Int8WeightCache"/> file holds.</summary>
internal enum Int8Layout
{
    PerColumn,
    Block32Float,
    PerColumnUnsigned,
    Block32Int8,
}
