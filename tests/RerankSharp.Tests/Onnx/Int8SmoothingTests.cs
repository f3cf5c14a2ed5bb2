using System.Text.Json;
using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Onnx;

/// <summary>SmoothQuant in the int8 recipes: factors, the cached weights they scale and the inputs they divide.</summary>
public class Int8SmoothingTests
{
    private static readonly (string, string)[] Pairs =
    [
        ("what is the capital of china", "beijing is the capital of china"),
        ("what is the capital of china", "the airport is in beijing"),
        ("panda", "the giant panda is a bear species endemic to china"),
        ("panda", "hi"),
    ];

    [Fact]
    public void Factors_are_activation_max_to_the_alpha_over_weight_column_max_to_one_minus_alpha()
    {
        using var temp = new RerankSharp.Tests.Models.TempDirectory();
        var path = Path.Combine(temp.Path, "stats.json");
        File.WriteAllText(path, """{"maxima": {"m": [8.0, 0.5, 0.0]}}""");
        // W [out=2, in=3]; column maxima 2, 0.5 and 0 (a dead column).
        float[] w = [2f, -0.5f, 0f, -1f, 0.25f, 0f];

        var s = Int8Smoothing.Load(path, 0.75).Factors("m", w, 2, 3);

        Assert.Equal((float)(Math.Pow(8, 0.75) / Math.Pow(2, 0.25)), s[0]);
        Assert.Equal((float)(Math.Pow(0.5, 0.75) / Math.Pow(0.5, 0.25)), s[1]);
        Assert.Equal((float)(Math.Pow(1e-5, 0.75) / Math.Pow(1e-5, 0.25)), s[2]);   // floored, finite
    }

    [Fact]
    public async Task Statistics_equal_to_the_weight_column_maxima_give_factors_of_one_and_plain_per_tensor_scores()
    {
        var dir = CopyModel();
        try
        {
            // α = 0.5 and a_j = w_j: s_j = √w_j / √w_j = 1 exactly, so the smoothed recipe must equal plain per-tensor
            // bit for bit (the Mul by 1 is exact) — any misrouted factor or weight shows.
            var stats = WriteStatistics(dir, (w, outF, inF) => ColumnMax(w, outF, inF));
            var plain = await Scores(dir, "per-tensor");
            var smoothed = await Scores(dir, $"per-tensor;smooth={stats}");

            Assert.Equal(plain, smoothed);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Real_factors_change_the_int8_scores_and_keep_them_close_to_fp32()
    {
        var dir = CopyModel();
        try
        {
            // An outlier channel 0 in every input, 30 times the others: s moves it into the weights.
            var stats = WriteStatistics(dir, (_, _, inF) => Enumerable.Range(0, inF).Select(j => j == 0 ? 30f : 1f).ToArray());
            using (var store = SafetensorsStore.Open(ModelFolder.Open(dir)))
            {
                var folder = ModelFolder.Open(dir);
                var graph = XlmRobertaGraph.Build(folder.Config, store, folder.WeightsDirectory, GraphForm.Fused, Precision.Int8,
                    Int8Recipe.Parse($"per-tensor;smooth={stats}")).Graph;
                Assert.Equal(folder.Config.NumHiddenLayers * 6, graph.Node.Count(n => n.OpType == "Mul" && n.Name.EndsWith("/smooth", StringComparison.Ordinal)));
            }
            var fp32 = await Scores(dir, null);
            var plain = await Scores(dir, "per-tensor");
            var smoothed = await Scores(dir, $"per-tensor;smooth={stats}");

            Assert.NotEqual(plain, smoothed);
            Assert.True(fp32.Zip(smoothed, (r, q) => Math.Abs(r - q)).Max() < 0.5, $"{string.Join(", ", fp32)} vs {string.Join(", ", smoothed)}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Missing_statistics_are_refused_naming_the_tool_that_makes_them()
    {
        var e = Assert.Throws<RerankException>(() => Int8Smoothing.Load("/nonexistent/stats.json", 0.5));

        Assert.Equal(RerankErrorKind.InvalidInput, e.Kind);
        Assert.Contains("activation_stats.py", e.Message);
    }

    private static string CopyModel()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-int8-smooth-").FullName;
        foreach (var file in Directory.GetFiles(FixturePaths.Model("tiny-b")))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    private static float[] ColumnMax(float[] w, int outFeatures, int inFeatures)
    {
        var max = new float[inFeatures];
        for (var n = 0; n < outFeatures; n++)
            for (var j = 0; j < inFeatures; j++) max[j] = Math.Max(max[j], Math.Abs(w[n * inFeatures + j]));
        return max;
    }

    // A statistics file over every encoder matrix of the model, maxima made from the matrix by `maxima`.
    private static string WriteStatistics(string dir, Func<float[], int, int, float[]> maxima)
    {
        var folder = ModelFolder.Open(dir);
        using var store = SafetensorsStore.Open(folder);
        var entries = new Dictionary<string, float[]>();
        foreach (var name in XlmRobertaGraph.EncoderMatrices(folder.Config))
        {
            var shape = store.Tensors[name].Shape;
            entries[name[..^".weight".Length]] = maxima(store.ReadAsFloat32(name), (int)shape[0], (int)shape[1]);
        }
        var path = Path.Combine(dir, "stats.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { maxima = entries }));
        return path;
    }

    private static async Task<float[]> Scores(string dir, string? recipe)
    {
        using var encoder = await CrossEncoder.LoadAsync(dir, recipe is null ? null
            : new CrossEncoderOptions { Precision = Precision.Int8, Int8Recipe = Int8Recipe.Parse(recipe) });
        return encoder.Predict(Pairs, new RerankOptions { RawScores = true }).ToArray();
    }
}
