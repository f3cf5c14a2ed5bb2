using System.Text.Json.Nodes;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests;

/// <summary>
/// <c>rerank download</c> and hub ids as <c>--model</c>, against a <see cref="FakeHub"/> that this test
/// process serves on 127.0.0.1 to the <c>rerank</c> process.
/// </summary>
public sealed class DownloadCommandTests : IDisposable
{
    private const string Id = "test-org/tiny-reranker";
    private readonly FakeHub _hub = new();
    private readonly DirectoryInfo _cache = Directory.CreateTempSubdirectory("rerank-hub-cache-");

    private Dictionary<string, string> Environment(params (string Key, string Value)[] more)
    {
        var environment = new Dictionary<string, string> { ["HF_ENDPOINT"] = _hub.Endpoint, ["HF_HUB_CACHE"] = _cache.FullName };
        foreach (var (key, value) in more) environment[key] = value;
        return environment;
    }

    private static float[] Scores(RerankProcess.Result result) =>
        JsonNode.Parse(result.Stdout)!["results"]!.AsArray().OrderBy(r => r!["index"]!.GetValue<int>()).Select(r => r!["score"]!.GetValue<float>()).ToArray();

    private static readonly string[] RankArguments = ["rank", "--json", "--query", "中国的首都是哪里?", "--doc", "北京是中国的政治中心和首都。", "--doc", "首都机场位于北京,是中国重要交通枢纽。"];

    [Fact]
    public void Downloads_into_the_hub_cache_prints_the_snapshot_and_the_model_then_loads_offline_by_hub_id()
    {
        var repo = _hub.AddFixtureModel(Id);

        var download = RerankProcess.Run(null, Environment(), "download", Id);

        Assert.True(download.ExitCode == 0, download.Stderr);
        var snapshot = Path.Combine(_cache.FullName, "models--test-org--tiny-reranker", "snapshots", repo.Commit);
        Assert.Equal(snapshot, download.Stdout.Trim());
        Assert.Contains("download: model.safetensors (2.1 MiB)", download.Stderr);
        Assert.Contains("download: model.safetensors: done", download.Stderr);
        Assert.Contains($"{Id} @ {repo.Commit[..12]}: 6 files", download.Stderr);

        var offline = RerankProcess.Run(null, Environment(("HF_HUB_OFFLINE", "1")), [.. RankArguments, "--model", Id]);
        var local = RerankProcess.Run(null, [.. RankArguments, "--model", FixturePaths.Model("tiny-a")]);

        Assert.True(offline.ExitCode == 0, offline.Stderr);
        Assert.Equal(Scores(local), Scores(offline));
        Assert.Equal("", offline.Stderr);
    }

    [Fact]
    public void A_hub_id_as_model_is_downloaded_on_first_use_with_progress_on_stderr_only()
    {
        _hub.AddFixtureModel(Id);

        var first = RerankProcess.Run(null, Environment(), [.. RankArguments, "--model", Id]);
        var second = RerankProcess.Run(null, Environment(), [.. RankArguments, "--model", Id]);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(2, Scores(first).Length);                       // stdout is the JSON alone
        Assert.Contains("download: config.json", first.Stderr);
        Assert.Equal(Scores(first), Scores(second));
        Assert.Equal("", second.Stderr);                             // found in the cache: nothing to say
    }

    [Fact]
    public void A_cut_transfer_is_reported_and_resumed()
    {
        var repo = _hub.AddFixtureModel(Id);
        _hub.CutTransfers(repo, "model.safetensors");

        var result = RerankProcess.Run(null, Environment(), "download", Id);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("download: model.safetensors: transfer cut", result.Stderr);
        Assert.Contains($"resuming at {repo.Files["model.safetensors"].Length / 2 / 1024.0 / 1024.0:F1} MiB", result.Stderr);
        Assert.Contains(_hub.Requests, r => r.Range is not null);
    }

    [Fact]
    public void A_corrupt_blob_fails_with_one_line_and_exit_code_3()
    {
        var repo = _hub.AddFixtureModel(Id);
        _hub.Corrupt(repo, "model.safetensors");

        var result = RerankProcess.Run(null, Environment(), "download", Id);

        Assert.Equal(3, result.ExitCode);
        var error = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains("model.safetensors is corrupt", error);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void A_private_model_needs_HF_TOKEN()
    {
        _hub.AddFixtureModel(Id, token: "hf_secret");

        var without = RerankProcess.Run(null, Environment(), "download", Id);
        var with = RerankProcess.Run(null, Environment(("HF_TOKEN", "hf_secret")), "download", Id);

        Assert.Equal(2, without.ExitCode);
        Assert.Contains("(401)", without.Stderr);
        Assert.Contains("Set HF_TOKEN", without.Stderr);
        Assert.True(with.ExitCode == 0, with.Stderr);
    }

    [Fact]
    public void A_missing_repository_is_a_404_with_exit_code_2()
    {
        var result = RerankProcess.Run(null, Environment(), "download", "test-org/no-such-model");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: Repository test-org/no-such-model was not found on {_hub.Endpoint} (404). Check the id (e.g. BAAI/bge-reranker-v2-m3) and HF_ENDPOINT.", result.Stderr.Trim());
    }

    [Fact]
    public void Offline_without_the_model_in_the_cache_says_so_without_contacting_the_hub()
    {
        _hub.AddFixtureModel(Id);

        var result = RerankProcess.Run(null, Environment(("HF_HUB_OFFLINE", "1")), "download", Id);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("HF_HUB_OFFLINE", result.Stderr);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void A_cache_laid_out_by_python_huggingface_hub_is_used_as_it_is()
    {
        // blobs/<sha256 or git sha1>, snapshots/<commit>/<file> → ../../blobs/<etag>, refs/main, as hf_hub_download leaves them.
        var repo = Path.Combine(_cache.FullName, "models--BAAI--bge-reranker-v2-m3");
        const string commit = "953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e";
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", commit));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
        foreach (var file in Directory.GetFiles(FixturePaths.Model("tiny-a")))
        {
            var bytes = File.ReadAllBytes(file);
            var etag = FakeHub.IsLfs(Path.GetFileName(file)) ? FakeHub.Sha256(bytes) : FakeHub.GitBlobId(bytes);
            File.WriteAllBytes(Path.Combine(repo, "blobs", etag), bytes);
            File.CreateSymbolicLink(Path.Combine(repo, "snapshots", commit, Path.GetFileName(file)), $"../../blobs/{etag}");
        }

        var result = RerankProcess.Run(null, Environment(("HF_HUB_OFFLINE", "1")), [.. RankArguments, "--model", "BAAI/bge-reranker-v2-m3"]);
        var local = RerankProcess.Run(null, [.. RankArguments, "--model", FixturePaths.Model("tiny-a")]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(Scores(local), Scores(result));
    }

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Delete(recursive: true);
    }
}
