namespace RerankSharp.Models;

/// <summary>
/// The Hugging Face hub cache as Python's huggingface_hub lays it out
/// (<c>models--org--name/{blobs,snapshots/&lt;commit&gt;,refs/main}</c>), so a model a Python user
/// already downloaded is found here too.
/// </summary>
public static class HubCache
{
    /// <summary>The cache root: <c>HF_HUB_CACHE</c>, else <c>HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>.</summary>
    public static string Root
    {
        get
        {
            var hubCache = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
            if (!string.IsNullOrEmpty(hubCache)) return hubCache;
            var home = Environment.GetEnvironmentVariable("HF_HOME");
            if (!string.IsNullOrEmpty(home)) return Path.Combine(home, "hub");
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var cache = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "huggingface", "hub");
        }
    }

    /// <summary>True when <paramref name="value"/> has the shape of a hub id ("org/name"), not of a path.</summary>
    public static bool LooksLikeHubId(string value) =>
        value.Count(c => c == '/') == 1 && !value.StartsWith('.') && !value.StartsWith('/') && !value.StartsWith('~')
        && !value.Contains('\\') && !value.EndsWith('/');

    private static bool OfflineByEnvironment => new HubDownloadOptions().ResolvedOffline;

    /// <summary><c>models--org--name</c>: the folder name of a model repository in the cache.</summary>
    public static string RepoFolderName(string repoId) => "models--" + repoId.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>The cache folder of <paramref name="repoId"/> under <paramref name="cacheRoot"/> (default <see cref="Root"/>).</summary>
    public static string RepoDirectory(string repoId, string? cacheRoot = null) => Path.Combine(cacheRoot ?? Root, RepoFolderName(repoId));

    /// <summary>The snapshot folder of <paramref name="repoId"/> at <paramref name="revision"/> in the cache, or null.</summary>
    public static string? FindSnapshot(string repoId, string revision = "main", string? cacheRoot = null)
    {
        var repo = RepoDirectory(repoId, cacheRoot);
        var snapshots = Path.Combine(repo, "snapshots");
        if (!Directory.Exists(snapshots)) return null;
        var refFile = Path.Combine(repo, "refs", revision);
        var commit = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : revision;
        var snapshot = Path.Combine(snapshots, commit);
        return Directory.Exists(snapshot) ? snapshot : null;
    }

    /// <summary>
    /// The snapshot of <paramref name="repoId"/> if it holds everything <see cref="ModelFolder.Open"/>
    /// needs; null when it is absent or partial (e.g. a Python user fetched only config.json).
    /// </summary>
    public static string? FindModelSnapshot(string repoId, string revision = "main", string? cacheRoot = null)
    {
        if (FindSnapshot(repoId, revision, cacheRoot) is not { } snapshot) return null;
        try
        {
            ModelFolder.Open(snapshot);
            return snapshot;
        }
        catch (RerankException e) when (e.Kind == RerankErrorKind.ModelNotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// A folder path is used as it is; a hub id is looked up in the cache only (no download; see
    /// <see cref="HubDownload.ResolveModelDirectoryAsync"/> for that). Throws a message that says
    /// how to get the model when neither works.
    /// </summary>
    public static string ResolveModelDirectory(string pathOrHubId) => ResolveModelDirectory(pathOrHubId, "main", null);

    /// <inheritdoc cref="ResolveModelDirectory(string)"/>
    public static string ResolveModelDirectory(string pathOrHubId, string revision, string? cacheRoot)
    {
        if (Directory.Exists(pathOrHubId)) return Path.GetFullPath(pathOrHubId);
        if (File.Exists(pathOrHubId))
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"{pathOrHubId} is a file; pass the model folder that holds config.json and model.safetensors, or a hub id such as BAAI/bge-reranker-v2-m3.");
        if (LooksLikeHubId(pathOrHubId))
        {
            var snapshot = FindSnapshot(pathOrHubId, revision, cacheRoot);
            if (snapshot is not null) return snapshot;
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"Model '{pathOrHubId}' is not in the Hugging Face cache ({cacheRoot ?? Root}){(OfflineByEnvironment ? " and HF_HUB_OFFLINE is set" : "")}. Download it where the hub is reachable (HubDownload.DownloadAsync(\"{pathOrHubId}\"); then copy the cache or point HF_HOME at it), or pass a local model folder that holds config.json, model.safetensors and the tokenizer files instead of the hub id.");
        }
        throw new RerankException(RerankErrorKind.ModelNotFound,
            $"Model folder {pathOrHubId} does not exist; pass a folder that holds config.json and model.safetensors, or a hub id such as BAAI/bge-reranker-v2-m3.");
    }
}
