using RerankSharp.Models;
using RerankSharp.Onnx;
using RerankSharp.Scoring;
using RerankSharp.Tests.Models;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// The float32 copy of a BF16/F16 checkpoint (<see cref="Float32WeightCache"/>): exact widening, page-aligned tensors
/// (what lets ONNX Runtime map them), made once and reused until the checkpoint changes, and a decoder that loads
/// through it scoring exactly as through the Casts it replaces.
/// </summary>
public class Float32WeightCacheTests
{
    private static string CopyModel(string name)
    {
        var dir = Directory.CreateTempSubdirectory("rerank-f32-").FullName;
        foreach (var file in Directory.GetFiles(FixturePaths.Model(name)))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    [Fact]
    public void Half_width_tensors_are_widened_exactly_onto_page_boundaries_and_float32_ones_are_left_alone()
    {
        using var temp = new TempDirectory();
        // bf16 0x3FC0 = 1.5, 0xC000 = -2, 0x0001 = the smallest subnormal; f16 0x3C00 = 1, 0x8400 = -2^-14.
        var path = new SafetensorsBuilder()
            .AddBits16("b", "BF16", [3], 0x3FC0, 0xC000, 0x0001)
            .AddBits16("h", "F16", [2], 0x3C00, 0x8400)
            .AddF32("f", [2], 0.25f, -4f)
            .WriteTo(temp);
        using var store = SafetensorsStore.Open([path]);

        var cache = Float32WeightCache.LoadOrCreate(temp.Path, store, ["b", "h", "f"])!;

        var data = File.ReadAllBytes(Path.Combine(temp.Path, cache.RelativePath));
        Assert.True(cache.TryGet("b", out var b));
        Assert.True(cache.TryGet("h", out var h));
        Assert.False(cache.TryGet("f", out _));
        Assert.All(new[] { b, h }, s => Assert.Equal(0, s.Offset % 4096));
        Assert.Equal(0, data.Length % 4096);
        float[] Floats(WeightCacheFile.Slice s) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data.AsSpan((int)s.Offset, (int)s.Length)).ToArray();
        Assert.Equal([1.5f, -2f, BitConverter.Int32BitsToSingle(0x00010000)], Floats(b));
        Assert.Equal([1f, -MathF.Pow(2, -14)], Floats(h));
        Assert.Equal([3L], b.Shape);
        Assert.Null(Float32WeightCache.LoadOrCreate(temp.Path, store, ["f"]));
    }

    [Fact]
    public void The_copy_is_made_once_and_made_again_when_the_checkpoint_changes_or_its_index_is_damaged()
    {
        using var temp = new TempDirectory();
        var path = new SafetensorsBuilder().AddBits16("w", "BF16", [2, 2], 0x3F80, 0x4000, 0x4040, 0x4080).WriteTo(temp);
        string first;
        using (var store = SafetensorsStore.Open([path]))
        {
            first = Path.Combine(temp.Path, Float32WeightCache.LoadOrCreate(temp.Path, store, ["w"])!.RelativePath);
            var written = File.GetLastWriteTimeUtc(first);
            Thread.Sleep(20);
            Assert.Equal(first, Path.Combine(temp.Path, Float32WeightCache.LoadOrCreate(temp.Path, store, ["w"])!.RelativePath));
            Assert.Equal(written, File.GetLastWriteTimeUtc(first));

            File.WriteAllText(Path.ChangeExtension(first, ".json"), "{ not json");
            Float32WeightCache.LoadOrCreate(temp.Path, store, ["w"]);
            Assert.StartsWith("{\"Version\"", File.ReadAllText(Path.ChangeExtension(first, ".json")));
        }

        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        using (var store = SafetensorsStore.Open([path]))
            Assert.NotEqual(first, Path.Combine(temp.Path, Float32WeightCache.LoadOrCreate(temp.Path, store, ["w"])!.RelativePath));
    }

    [Theory]
    [InlineData("qwen3-b")]   // BF16, untied lm_head
    [InlineData("gemma-b")]   // BF16, tied
    public async Task A_bf16_decoder_reads_its_weights_from_the_mapped_copy_and_scores_as_the_reference(string model)
    {
        var dir = CopyModel(model);
        try
        {
            var saved = Path.Combine(dir, "graph.onnx");
            var golden = GoldenLogits.Load(FixturePaths.Model(model)).Cases.Single(c => c.Name == "text_prompts");
            using var encoder = await CrossEncoder.LoadAsync(dir, new CrossEncoderOptions { SaveOnnxPath = saved });

            var cacheFile = Assert.Single(Directory.GetFiles(Path.Combine(dir, WeightCacheFile.FolderName), "float32-*.bin"));
            var graph = RerankSharp.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(saved)).Graph;
            var fromCache = graph.Initializer.Where(t => t.ExternalData.Any(e => e.Key == "location" && e.Value.EndsWith(Path.GetFileName(cacheFile), StringComparison.Ordinal))).ToList();
            Assert.Contains(fromCache, t => t.Name == "model.layers.0.mlp.down_proj.weight.float32");
            // Nothing of a layer is widened at load any more: the only Casts of stored tensors are the gathered vocabulary rows'.
            Assert.DoesNotContain(graph.Node, n => n.OpType == "Cast" && n.Input[0].StartsWith("model.layers.", StringComparison.Ordinal));
            var (query, document, instruction) = golden.Prompts![0];
            var logit = (await encoder.ScoreDocumentsAsync(query, [document], new RerankOptions { RawScores = true, Instruction = instruction })).Scores[0];
            Assert.True(Math.Abs(logit - golden.Logits[0]) <= 1e-4 * Math.Max(1, Math.Abs(golden.Logits[0])), $"{logit} vs {golden.Logits[0]}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
