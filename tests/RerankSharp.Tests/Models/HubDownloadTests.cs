using RerankSharp.Models;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Models;

/// <summary>Downloads from a <see cref="FakeHub"/> on 127.0.0.1 into a fresh cache folder; nothing leaves the machine.</summary>
public sealed class HubDownloadTests : IDisposable
{
    private const string Id = "test-org/tiny-reranker";
    private readonly FakeHub _hub = new();
    private readonly TempDirectory _cache = new();

    private HubDownloadOptions Options => new()
    {
        Endpoint = _hub.Endpoint,
        CacheRoot = _cache.Path,
        Token = "",
        Offline = false,
        RetryDelay = TimeSpan.FromMilliseconds(10),
    };

    private string RepoDirectory => Path.Combine(_cache.Path, "models--test-org--tiny-reranker");

    private static readonly string[] InferenceFiles =
        ["config.json", "model.safetensors", "sentencepiece.bpe.model", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"];

    [Fact]
    public async Task Fetches_only_the_inference_files_into_the_huggingface_hub_cache_layout()
    {
        var repo = _hub.AddFixtureModel(Id);

        var snapshot = await HubDownload.DownloadAsync(Id, Options);

        Assert.Equal(repo.Commit, snapshot.Commit);
        Assert.Equal(Path.Combine(RepoDirectory, "snapshots", repo.Commit), snapshot.Directory);
        Assert.Equal(InferenceFiles, snapshot.Files);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(RepoDirectory, "refs", "main")));   // no newline
        foreach (var file in InferenceFiles)
        {
            // LFS blobs are named by their SHA-256, regular files by their git blob id, and the
            // snapshot entry is a relative link to the blob, exactly as huggingface_hub writes them.
            var bytes = repo.Files[file];
            var etag = FakeHub.IsLfs(file) ? FakeHub.Sha256(bytes) : FakeHub.GitBlobId(bytes);
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(RepoDirectory, "blobs", etag)));
            Assert.Equal($"../../blobs/{etag}", new FileInfo(Path.Combine(snapshot.Directory, file)).LinkTarget);
        }
        Assert.Equal(InferenceFiles.Length, Directory.GetFiles(Path.Combine(RepoDirectory, "blobs")).Length);   // no .incomplete left
        var requested = _hub.Requests.Select(r => r.Path).ToArray();
        Assert.DoesNotContain(requested, p => p.Contains("onnx", StringComparison.Ordinal) || p.Contains(".bin", StringComparison.Ordinal)
            || p.Contains(".png", StringComparison.Ordinal) || p.Contains("README", StringComparison.Ordinal) || p.Contains("golden", StringComparison.Ordinal));
        // LFS files came from the CDN the hub redirected to.
        Assert.Equal(3, _hub.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith("/cdn/", StringComparison.Ordinal)));
        Assert.Equal(snapshot.BytesDownloaded, InferenceFiles.Sum(f => (long)repo.Files[f].Length));

        using var encoder = CrossEncoder.Load(snapshot.Directory);
        using var fixture = CrossEncoder.Load(FixturePaths.Model("tiny-a"));
        Assert.Equal(fixture.Predict([("中国的首都是哪里?", "北京是中国的政治中心和首都。")]), encoder.Predict([("中国的首都是哪里?", "北京是中国的政治中心和首都。")]));
    }

    [Fact]
    public async Task A_second_download_transfers_nothing()
    {
        _hub.AddFixtureModel(Id);
        await HubDownload.DownloadAsync(Id, Options);
        var before = _hub.Requests.Count;
        var reports = new List<HubDownloadProgress>();

        var again = await HubDownload.DownloadAsync(Id, Options, new SynchronousProgress<HubDownloadProgress>(reports.Add));

        Assert.Equal(0, again.BytesDownloaded);
        Assert.Equal(["GET /api/models/test-org/tiny-reranker/revision/main"], _hub.Requests.Skip(before).Select(r => $"{r.Method} {r.Path}"));
        Assert.All(reports, r => Assert.Equal(HubFileState.Cached, r.State));
    }

    [Fact]
    public async Task A_blob_already_in_the_cache_is_linked_not_fetched()
    {
        // As after a Python user downloaded another revision holding the same weights.
        var repo = _hub.AddFixtureModel(Id);
        var weights = repo.Files["model.safetensors"];
        _cache.Write(Path.Combine(RepoDirectory, "blobs", FakeHub.Sha256(weights)), weights);

        var snapshot = await HubDownload.DownloadAsync(Id, Options);

        Assert.Equal(2, _hub.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith("/cdn/", StringComparison.Ordinal)));
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(snapshot.Directory, "model.safetensors")));
    }

    [Fact]
    public async Task A_transfer_cut_mid_file_is_resumed_with_a_range_request()
    {
        var repo = _hub.AddFixtureModel(Id);
        _hub.CutTransfers(repo, "model.safetensors");
        var weights = repo.Files["model.safetensors"];
        var reports = new List<HubDownloadProgress>();

        var snapshot = await HubDownload.DownloadAsync(Id, Options, new SynchronousProgress<HubDownloadProgress>(reports.Add));

        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(snapshot.Directory, "model.safetensors")));
        var transfers = _hub.Requests.Where(r => r.Path == $"/cdn/{FakeHub.Sha256(weights)}").ToArray();
        Assert.Equal(2, transfers.Length);
        Assert.Null(transfers[0].Range);
        Assert.Equal($"bytes={weights.Length / 2}-", transfers[1].Range);
        var retry = Assert.Single(reports, r => r.State == HubFileState.Retrying);
        Assert.Equal(weights.Length / 2, retry.BytesDone);
        Assert.Contains(reports, r => r.File == "model.safetensors" && r.State == HubFileState.Started && r.BytesDone == weights.Length / 2);
    }

    [Fact]
    public async Task An_incomplete_file_left_by_an_earlier_run_is_resumed_where_it_stopped()
    {
        var repo = _hub.AddFixtureModel(Id);
        var weights = repo.Files["model.safetensors"];
        var blob = Path.Combine(RepoDirectory, "blobs", FakeHub.Sha256(weights));
        _cache.Write(blob + ".incomplete", weights[..1000]);

        var snapshot = await HubDownload.DownloadAsync(Id, Options);

        Assert.Equal("bytes=1000-", _hub.Requests.Single(r => r.Path == $"/cdn/{FakeHub.Sha256(weights)}").Range);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(snapshot.Directory, "model.safetensors")));
        Assert.Equal(weights.Length - 1000 + InferenceFiles.Where(f => f != "model.safetensors").Sum(f => repo.Files[f].Length), snapshot.BytesDownloaded);
        Assert.False(File.Exists(blob + ".incomplete"));
    }

    [Fact]
    public async Task A_transfer_that_keeps_failing_stops_with_the_partial_file_kept_for_the_next_run()
    {
        var repo = _hub.AddFixtureModel(Id);
        _hub.CutTransfers(repo, "model.safetensors", times: 100);

        var error = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync(Id, Options with { MaxAttempts = 2 }));

        Assert.Equal(RerankErrorKind.ModelNotFound, error.Kind);
        Assert.Contains("failed 2 times", error.Message);
        Assert.Contains("run the same command again to resume it", error.Message);
        Assert.True(File.Exists(Path.Combine(RepoDirectory, "blobs", FakeHub.Sha256(repo.Files["model.safetensors"]) + ".incomplete")));
    }

    [Fact]
    public async Task A_blob_another_process_is_downloading_is_waited_for_under_huggingface_hub_s_lock_file()
    {
        var repo = _hub.AddFixtureModel(Id);
        var sha = FakeHub.Sha256(repo.Files["model.safetensors"]);
        var lockPath = Path.Combine(_cache.Path, ".locks", "models--test-org--tiny-reranker", sha + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<HubSnapshot> download;

        using (new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))   // as filelock holds it
        {
            download = HubDownload.DownloadAsync(Id, Options, new SynchronousProgress<HubDownloadProgress>(p =>
            {
                if (p.State == HubFileState.Waiting) waiting.TrySetResult();
            }));
            await waiting.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(300);
            Assert.False(download.IsCompleted);
            Assert.DoesNotContain(_hub.Requests, r => r.Path == $"/cdn/{sha}");
        }
        // The holder went away without the blob; the waiter fetches it itself.
        var snapshot = await download.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(snapshot.Directory, "model.safetensors")));
    }

    [Fact]
    public async Task A_corrupt_blob_is_caught_by_its_checksum_and_not_kept()
    {
        var repo = _hub.AddFixtureModel(Id);
        _hub.Corrupt(repo, "model.safetensors");
        var sha = FakeHub.Sha256(repo.Files["model.safetensors"]);

        var error = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync(Id, Options));

        Assert.Equal(RerankErrorKind.InvalidModel, error.Kind);
        Assert.Contains("model.safetensors is corrupt", error.Message);
        Assert.Contains(sha, error.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDirectory, "blobs"), sha + "*"));
        Assert.False(File.Exists(Path.Combine(RepoDirectory, "snapshots", repo.Commit, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(RepoDirectory, "refs", "main")));
    }

    [Fact]
    public async Task A_private_repository_needs_a_token_and_gets_it()
    {
        _hub.AddFixtureModel(Id, token: "hf_secret");

        var error = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync(Id, Options));
        Assert.Equal(RerankErrorKind.ModelNotFound, error.Kind);
        Assert.Contains("needs authentication", error.Message);
        Assert.Contains("(401)", error.Message);
        Assert.Contains("HF_TOKEN", error.Message);

        var wrong = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync(Id, Options with { Token = "hf_wrong" }));
        Assert.Contains("refused the token", wrong.Message);

        var snapshot = await HubDownload.DownloadAsync(Id, Options with { Token = "hf_secret" });
        Assert.True(File.Exists(Path.Combine(snapshot.Directory, "model.safetensors")));
    }

    [Fact]
    public async Task A_missing_repository_or_revision_is_a_404_that_names_it()
    {
        _hub.AddFixtureModel(Id);

        var repo = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync("test-org/no-such-model", Options));
        Assert.Equal(RerankErrorKind.ModelNotFound, repo.Kind);
        Assert.Contains("Repository test-org/no-such-model was not found", repo.Message);

        var revision = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync(Id, Options with { Revision = "v9" }));
        Assert.Contains("Revision 'v9'", revision.Message);
    }

    [Fact]
    public async Task Offline_uses_only_the_cache_and_says_so_when_the_model_is_not_there()
    {
        _hub.AddFixtureModel(Id);

        var error = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync(Id, Options with { Offline = true }));
        Assert.Equal(RerankErrorKind.ModelNotFound, error.Kind);
        Assert.Contains("HF_HUB_OFFLINE", error.Message);
        Assert.Empty(_hub.Requests);

        var online = await HubDownload.DownloadAsync(Id, Options);
        var before = _hub.Requests.Count;
        var offline = await HubDownload.DownloadAsync(Id, Options with { Offline = true });
        Assert.Equal(online.Directory, offline.Directory);
        Assert.Equal(before, _hub.Requests.Count);
    }

    // The library's messages speak to a .NET caller: they name its parameters, never the CLI's flags (the CLI rewrites them).
    [Fact]
    public async Task Resolving_a_hub_id_that_is_neither_a_folder_nor_reachable_names_both_in_library_terms()
    {
        var offline = await Assert.ThrowsAsync<RerankException>(() => HubDownload.ResolveModelDirectoryAsync(Id, Options with { Offline = true }));
        var unreachable = await Assert.ThrowsAsync<RerankException>(() =>
            HubDownload.ResolveModelDirectoryAsync(Id, Options with { Endpoint = "http://127.0.0.1:9", MaxAttempts = 1 }));

        foreach (var e in new[] { offline, unreachable })
        {
            Assert.Equal(RerankErrorKind.ModelNotFound, e.Kind);
            Assert.StartsWith($"There is no model folder {Path.GetFullPath(Id)}, and as a hub id: ", e.Message);
            Assert.Contains("local model folder", e.Message);
            Assert.DoesNotContain("--", e.Message);
            Assert.DoesNotContain("rerank ", e.Message);
        }
        Assert.Contains($"HubDownload.DownloadAsync(\"{Id}\")", offline.Message);
        Assert.Contains("Cannot reach the hub at http://127.0.0.1:9", unreachable.Message);
    }

    [Fact]
    public async Task An_unreachable_hub_gives_one_line_naming_the_local_folder_and_HF_ENDPOINT()
    {
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var error = await Assert.ThrowsAsync<RerankException>(() => HubDownload.DownloadAsync(Id, Options with { Endpoint = $"http://127.0.0.1:{port}" }));

        Assert.Equal(RerankErrorKind.ModelNotFound, error.Kind);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith($"Cannot reach the hub at http://127.0.0.1:{port} to download {Id}", error.Message);
        Assert.Contains("local model folder", error.Message);
        Assert.Contains("HF_ENDPOINT", error.Message);
    }

    [Fact]
    public async Task Include_patterns_choose_the_files_instead_of_the_inference_set()
    {
        _hub.AddFixtureModel(Id);

        var snapshot = await HubDownload.DownloadAsync(Id, Options with { Include = ["*.json", "onnx/"] });

        Assert.Equal(["config.json", "golden_logits.json", "golden_text_logits.json", "onnx/model.onnx", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"],
            snapshot.Files.Order(StringComparer.Ordinal));
        Assert.Equal($"../../../blobs/{FakeHub.Sha256(new byte[4096])}", new FileInfo(Path.Combine(snapshot.Directory, "onnx", "model.onnx")).LinkTarget);
    }

    [Fact]
    public async Task A_commit_as_revision_writes_no_ref()
    {
        var repo = _hub.AddFixtureModel(Id);

        var snapshot = await HubDownload.DownloadAsync(Id, Options with { Revision = repo.Commit });

        Assert.Equal(repo.Commit, snapshot.Commit);
        Assert.False(Directory.Exists(Path.Combine(RepoDirectory, "refs")));
        Assert.Equal(snapshot.Directory, HubCache.FindModelSnapshot(Id, repo.Commit, _cache.Path));
    }

    [Fact]
    public async Task Resolving_a_hub_id_completes_a_partial_snapshot_and_then_uses_the_cache()
    {
        var repo = _hub.AddFixtureModel(Id);
        await HubDownload.DownloadAsync(Id, Options with { Include = ["config.json"] });
        Assert.Null(HubCache.FindModelSnapshot(Id, "main", _cache.Path));

        var directory = await HubDownload.ResolveModelDirectoryAsync(Id, Options);

        Assert.Equal(Path.Combine(RepoDirectory, "snapshots", repo.Commit), directory);
        ModelFolder.Open(directory);
        var before = _hub.Requests.Count;
        Assert.Equal(directory, await HubDownload.ResolveModelDirectoryAsync(Id, Options));
        Assert.Equal(before, _hub.Requests.Count);
    }

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    /// <summary>Unlike <see cref="Progress{T}"/>, reports on the caller's thread, in order.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
