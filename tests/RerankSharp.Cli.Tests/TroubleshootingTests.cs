using System.Diagnostics;
using System.Text;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

/// <summary>The rows of docs/troubleshooting.md, each as the behaviour a user meets.</summary>
public class TroubleshootingTests
{
    private static readonly string Model = FixturePaths.Model("tiny-a");

    [Fact]
    public async Task A_batch_too_large_for_memory_fails_with_one_line_that_says_how_to_make_batches_smaller()
    {
        // 2,048 pairs of 512 tokens in one batch need several GiB for attention; the process is
        // given 6 GiB of address space, so ONNX Runtime's allocation fails as it would on a small machine.
        var dir = Directory.CreateTempSubdirectory("rerank-oom-");
        try
        {
            var input = Path.Combine(dir.FullName, "in.jsonl");
            var passage = string.Concat(Enumerable.Repeat("北京是中国的政治中心和首都。首都机场位于北京,是中国重要交通枢纽。", 20));   // ≥ 512 tokens
            File.WriteAllText(input, $"{{\"query\": \"中国的首都是哪里?\", \"documents\": [{string.Join(", ", Enumerable.Repeat($"\"{passage}\"", 2048))}]}}\n");
            var rerank = RerankProcess.StartInfo(null, "score", "--model", Model, "--input", input, "--batch-size", "2048", "--max-batch-tokens", "2000000");
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, StandardErrorEncoding = Encoding.UTF8 };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("ulimit -v 4000000 && exec \"$@\"");
            info.ArgumentList.Add("bash");
            info.ArgumentList.Add(rerank.FileName);
            foreach (var arg in rerank.ArgumentList) info.ArgumentList.Add(arg);
            foreach (var (key, value) in rerank.Environment) info.Environment[key] = value;
            // The GC would otherwise reserve more address space than the limit allows at start-up.
            info.Environment["DOTNET_GCHeapHardLimit"] = "0x20000000";

            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();

            Assert.Equal(1, process.ExitCode);
            Assert.Equal("", await stdout);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            // ONNX Runtime's allocation fails first here ("Out of memory running a batch of 2048 pairs × 512
            // tokens"); were it .NET's, the line differs in wording, not in what it asks for.
            Assert.StartsWith("error: out of memory", line, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("--batch-size", line);
            Assert.Contains("--max-batch-tokens", line);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Cuda_without_the_gpu_runtime_warns_names_the_package_and_runs_on_cpu()
    {
        var result = RerankProcess.Run(null, "rank", "--model", Model, "--device", "cuda", "--json", "--query", "q", "--doc", "d");

        Assert.Equal(0, result.ExitCode);
        var warning = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: CUDA was requested", warning);
        Assert.Contains("running on CPU", warning);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", warning);
        Assert.Contains("\"results\"", result.Stdout);
    }
}
