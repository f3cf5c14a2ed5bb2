using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

public class LongDocumentOptionsTests
{
    private static readonly string LongDocument = string.Join(" ", Enumerable.Range(0, 12).Select(i => $"Section {i} of the survey describes the river, the mill and the valley floor."));

    private static JsonNode LongResult(RerankProcess.Result result)
    {
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonNode.Parse(result.Stdout)!["results"]!.AsArray().Single(r => r!["index"]!.GetValue<int>() == 1)!;
    }

    [Fact]
    public void Rank_chunks_long_documents_from_the_flag_or_the_variable_and_shows_the_winning_window()
    {
        string[] args = ["rank", "--model", FixturePaths.Model("tiny-a"), "--max-length", "48", "--query", "river", "--doc", "short", "--doc", LongDocument, "--json", "--return-windows"];

        var cut = LongResult(RerankProcess.Run(null, args));
        var flag = LongResult(RerankProcess.Run(null, [.. args, "--long-documents", "chunk", "--chunk-stride", "0", "--chunk-aggregation", "first"]));
        var variable = LongResult(RerankProcess.Run(null, new Dictionary<string, string> { ["RERANK_LONG_DOCUMENTS"] = "chunk", ["RERANK_CHUNK_STRIDE"] = "0" }, args));

        Assert.Equal(1, cut["window"]!["count"]!.GetValue<int>());
        var windows = flag["window"]!["count"]!.GetValue<int>();
        Assert.True(windows > 1);
        Assert.Equal(windows, variable["window"]!["count"]!.GetValue<int>());
        // first = window 0, which is what the cut kept: the same score.
        Assert.Equal(cut["score"]!.GetValue<float>(), flag["score"]!.GetValue<float>());
        Assert.Equal(0, flag["window"]!["index"]!.GetValue<int>());
    }

    [Fact]
    public void Score_chunks_too_and_a_bad_variable_fails_with_one_line()
    {
        var input = new JsonObject { ["query"] = "river", ["documents"] = new JsonArray("short", LongDocument) }.ToJsonString() + "\n";

        var cut = RerankProcess.Run(input, "score", "--model", FixturePaths.Model("tiny-a"), "--max-length", "48", "--raw");
        var chunked = RerankProcess.Run(input, "score", "--model", FixturePaths.Model("tiny-a"), "--max-length", "48", "--raw", "--long-documents", "chunk");
        var bad = RerankProcess.Run(input, new Dictionary<string, string> { ["RERANK_CHUNK_AGGREGATION"] = "median" }, "score", "--model", FixturePaths.Model("tiny-a"));

        Assert.True(cut.ExitCode == 0 && chunked.ExitCode == 0, cut.Stderr + chunked.Stderr);
        var a = JsonNode.Parse(cut.Stdout)!["scores"]!.AsArray();
        var b = JsonNode.Parse(chunked.Stdout)!["scores"]!.AsArray();
        Assert.Equal(a[0]!.GetValue<float>(), b[0]!.GetValue<float>());
        Assert.True(b[1]!.GetValue<float>() >= a[1]!.GetValue<float>(), "max over windows includes the first window");
        Assert.Equal(4, bad.ExitCode);
        Assert.Contains("RERANK_CHUNK_AGGREGATION=median is not one of max, mean, first", bad.Stderr);
    }

    [Fact]
    public async Task Serve_takes_the_long_document_default_from_its_flag()
    {
        var info = RerankProcess.StartInfo(null, "serve", "--model", FixturePaths.Model("tiny-a"), "--port", "0", "--max-length", "48", "--long-documents", "chunk");
        using var process = Process.Start(info)!;
        try
        {
            var line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(line);
            using var client = new HttpClient { BaseAddress = new Uri(line.Split(' ')[4]) };
            var body = new JsonObject { ["query"] = "river", ["texts"] = new JsonArray("short", LongDocument), ["return_windows"] = true }.ToJsonString();

            var reply = await client.PostAsync("/rerank", new StringContent(body, Encoding.UTF8, "application/json"));

            var results = JsonNode.Parse(await reply.Content.ReadAsStringAsync())!.AsArray();
            Assert.True(results.Single(r => r!["index"]!.GetValue<int>() == 1)!["window"]!["count"]!.GetValue<int>() > 1);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }
}
