using System.Security.Cryptography;
using System.Text.Json;
using RerankSharp.Models;

namespace RerankSharp.Onnx;

/// <summary>
/// SmoothQuant's per-channel migration (Xiao et al. 2023): for a matrix whose input channel j reaches |x_j| ≤ a_j on
/// calibration text, s_j = a_j^α / w_j^(1−α) with w_j = max over outputs of |W[:, j]|; the input is divided by s and
/// W's column j multiplied by it, so x·Wᵀ is unchanged in exact arithmetic while the outlier channels' range moves
/// into the weights, which are quantized per output channel and so absorb it. The activation maxima come from a
/// calibration file (<c>tools/model/activation_stats.py --calibration-out</c>: <c>{"maxima": {module: [a_j, …]}}</c>,
/// as SmoothQuant's own act_scales files), keyed by the module the input enters.
/// </summary>
internal sealed class Int8Smoothing
{
    private readonly Dictionary<string, float[]> _maxima;

    private Int8Smoothing(Dictionary<string, float[]> maxima, double alpha, string fingerprint)
    {
        _maxima = maxima;
        Alpha = alpha;
        Fingerprint = fingerprint;
    }

    public double Alpha { get; }

    /// <summary>The file's content hash and α: part of the weight cache's key, since smoothing changes the weights.</summary>
    public string Fingerprint { get; }

    public static Int8Smoothing Load(string path, double alpha)
    {
        if (!File.Exists(path))
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"int8 recipe: the smoothing statistics '{path}' do not exist; make them with tools/model/activation_stats.py --calibration-out.");
        var bytes = File.ReadAllBytes(path);
        var maxima = JsonSerializer.Deserialize<CalibrationFile>(bytes)?.Maxima
            ?? throw new RerankException(RerankErrorKind.InvalidInput, $"int8 recipe: '{path}' holds no \"maxima\" object.");
        var fingerprint = $"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]} a{alpha:R}";
        return new Int8Smoothing(maxima, alpha, fingerprint);
    }

    /// <summary>Whether the module's input is smoothed (the file has its maxima).</summary>
    public bool Covers(string module) => _maxima.ContainsKey(module);

    /// <summary>s for the matrix <paramref name="module"/><c>.weight</c> (W [out, in], float32), one per input channel.</summary>
    public float[] Factors(string module, ReadOnlySpan<float> w, int outFeatures, int inFeatures)
    {
        var a = _maxima[module];
        if (a.Length != inFeatures)
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"int8 recipe: the smoothing statistics give {a.Length} channels for {module}, whose input has {inFeatures}; they belong to another model.");
        var columnMax = new float[inFeatures];
        for (var n = 0; n < outFeatures; n++)
            for (var j = 0; j < inFeatures; j++) columnMax[j] = Math.Max(columnMax[j], Math.Abs(w[n * inFeatures + j]));
        var s = new float[inFeatures];
        // The floors keep a dead channel (never active, or an all-zero column) from dividing by zero; SmoothQuant clamps
        // at 1e-5 likewise.
        for (var j = 0; j < inFeatures; j++)
            s[j] = (float)(Math.Pow(Math.Max(a[j], 1e-5), Alpha) / Math.Pow(Math.Max(columnMax[j], 1e-5), 1 - Alpha));
        return s;
    }

    /// <summary>W · diag(s): column j times s_j, in place.</summary>
    public static void ScaleColumns(Span<float> w, int outFeatures, int inFeatures, ReadOnlySpan<float> s)
    {
        for (var n = 0; n < outFeatures; n++)
            for (var j = 0; j < inFeatures; j++) w[n * inFeatures + j] *= s[j];
    }

    /// <summary>The factors of every covered matrix of <paramref name="store"/>, by weight name (<c>module.weight</c>).</summary>
    public Dictionary<string, float[]> FactorsFor(SafetensorsStore store, IEnumerable<string> matrixNames)
    {
        var factors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var name in matrixNames)
        {
            var module = name[..^".weight".Length];
            if (!Covers(module)) continue;
            var shape = store.Tensors[name].Shape;
            factors[name] = Factors(module, store.ReadAsFloat32(name), checked((int)shape[0]), checked((int)shape[1]));
        }
        return factors;
    }

    private sealed record CalibrationFile([property: System.Text.Json.Serialization.JsonPropertyName("maxima")] Dictionary<string, float[]>? Maxima);
}
