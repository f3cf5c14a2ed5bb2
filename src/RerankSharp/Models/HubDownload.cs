namespace RerankSharp.Models;

/// <summary>A model snapshot in the hub cache: the folder to load and how it got there.</summary>
/// <param name="RepoId">The hub id, e.g. BAAI/bge-reranker-v2-m3.</param>
/// <param name="Commit">The commit the snapshot is of.</param>
/// <param name="Directory">The folder <c>models--org--name/snapshots/&lt;commit&gt;</c>, ready for <see cref="ModelFolder.Open"/>.</param>
/// <param name="Files">The repository paths of the files fetched or found.</param>
/// <param name="BytesDownloaded">Bytes transferred in this call (0 when everything was cached).</param>
public sealed record HubSnapshot(string RepoId, string Commit, string Directory, IReadOnlyList<string> Files, long BytesDownloaded);

/// <summary>
/// Downloads models from the Hugging Face Hub (or a mirror named by <c>HF_ENDPOINT</c>) into the
/// cache layout of Python's huggingface_hub, so that either tool reuses what the other fetched:
/// <c>models--org--name/blobs/&lt;etag&gt;</c> holds each file once, <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c>
/// are relative symbolic links to the blobs, <c>refs/&lt;revision&gt;</c> holds the commit.
/// </summary>
/// <remarks>Concurrent downloads of one model (threads or processes, ours or Python's) share the
/// per-blob lock files of huggingface_hub under <c>.locks/</c>.</remarks>
public static class HubDownload
{
    /// <summary>
    /// Fetches the files of <paramref name="repoId"/> at <see cref="HubDownloadOptions.Revision"/>
    /// that inference needs (or those of <see cref="HubDownloadOptions.Include"/>), skipping files
    /// already in the cache. Offline (<c>HF_HUB_OFFLINE=1</c>), only the cache is consulted.
    /// </summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.ModelNotFound"/> when the hub cannot be reached, refuses access, or
    /// does not have the repository, revision or weights; <see cref="RerankErrorKind.InvalidModel"/>
    /// when a file arrives corrupt; <see cref="RerankErrorKind.InvalidInput"/> for a malformed id.
    /// </exception>
    public static async Task<HubSnapshot> DownloadAsync(string repoId, HubDownloadOptions? options = null,
        IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        options ??= new HubDownloadOptions();
        options.Validate();
        if (!HubCache.LooksLikeHubId(repoId))
            throw new RerankException(RerankErrorKind.InvalidInput, $"'{repoId}' is not a hub id; pass one of the form org/name, such as BAAI/bge-reranker-v2-m3.");
        var cacheRoot = options.ResolvedCacheRoot;

        if (options.ResolvedOffline)
        {
            var cached = HubCache.FindSnapshot(repoId, options.Revision, cacheRoot)
                ?? throw new RerankException(RerankErrorKind.ModelNotFound,
                    $"{repoId} (revision {options.Revision}) is not in the Hugging Face cache ({cacheRoot}) and HF_HUB_OFFLINE is set, so it cannot be downloaded. Unset HF_HUB_OFFLINE, or pass a local model folder instead of the hub id.");
            var files = Directory.EnumerateFiles(cached, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(cached, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
            return new HubSnapshot(repoId, Path.GetFileName(cached), cached, files, 0);
        }

        using var client = new HubClient(options.ResolvedEndpoint, options.ResolvedToken);
        var info = await client.GetRepoInfoAsync(repoId, options.Revision, cancellationToken).ConfigureAwait(false);
        var selected = HubFileSelection.Select(info.Files, options.Include, repoId);

        var repoDirectory = HubCache.RepoDirectory(repoId, cacheRoot);
        var snapshot = Path.Combine(repoDirectory, "snapshots", info.Commit);
        var transfer = new HubBlobTransfer(client, options, progress);
        long downloaded = 0;
        foreach (var file in selected)
        {
            var pointer = Path.Combine(snapshot, file);
            // A snapshot is of one commit and never changes: a file linked there is done.
            if (LinkedFile.Find(pointer) is { } present)
            {
                progress?.Report(new HubDownloadProgress(file, HubFileState.Cached, present.Length, present.Length));
                continue;
            }
            var metadata = await client.GetFileMetadataAsync(repoId, info.Commit, file, cancellationToken).ConfigureAwait(false);
            var blob = Path.Combine(repoDirectory, "blobs", metadata.ETag);
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            if (!BlobIsWhole(blob, metadata))
            {
                var lockPath = Path.Combine(cacheRoot, ".locks", HubCache.RepoFolderName(repoId), metadata.ETag + ".lock");
                using (await HubCacheLock.AcquireAsync(lockPath, () => progress?.Report(new HubDownloadProgress(file, HubFileState.Waiting, 0, metadata.Size)), cancellationToken).ConfigureAwait(false))
                {
                    // Another process may have fetched it while we waited.
                    if (!BlobIsWhole(blob, metadata))
                    {
                        var before = File.Exists(blob + ".incomplete") ? new FileInfo(blob + ".incomplete").Length : 0;
                        await transfer.DownloadAsync(repoId, file, metadata, blob, cancellationToken).ConfigureAwait(false);
                        downloaded += new FileInfo(blob).Length - before;
                        LinkIntoSnapshot(blob, pointer);
                        progress?.Report(new HubDownloadProgress(file, HubFileState.Completed, new FileInfo(blob).Length, metadata.Size));
                        continue;
                    }
                }
            }
            LinkIntoSnapshot(blob, pointer);
            progress?.Report(new HubDownloadProgress(file, HubFileState.Cached, new FileInfo(blob).Length, metadata.Size));
        }

        // Written last, so a ref never names a snapshot this call left unfinished.
        if (!string.Equals(options.Revision, info.Commit, StringComparison.Ordinal))
            WriteRef(repoDirectory, options.Revision, info.Commit);
        return new HubSnapshot(repoId, info.Commit, snapshot, selected, downloaded);
    }

    /// <summary>
    /// The folder to load for <paramref name="pathOrHubId"/>: an existing folder as it is; a hub id
    /// from the cache when its snapshot holds a loadable model, else downloaded (unless offline).
    /// </summary>
    public static async Task<string> ResolveModelDirectoryAsync(string pathOrHubId, HubDownloadOptions? options = null,
        IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pathOrHubId);
        if (Directory.Exists(pathOrHubId) || !HubCache.LooksLikeHubId(pathOrHubId))
            return HubCache.ResolveModelDirectory(pathOrHubId);
        options ??= new HubDownloadOptions();
        if (HubCache.FindModelSnapshot(pathOrHubId, options.Revision, options.ResolvedCacheRoot) is { } cached)
            return cached;
        try
        {
            if (options.ResolvedOffline)
                return HubCache.ResolveModelDirectory(pathOrHubId, options.Revision, options.ResolvedCacheRoot);
            var snapshot = await DownloadAsync(pathOrHubId, options with { Include = null }, progress, cancellationToken).ConfigureAwait(false);
            return snapshot.Directory;
        }
        catch (RerankException e) when (e.Kind == RerankErrorKind.ModelNotFound)
        {
            // "org/name" is also a relative path: a mistyped folder reads as a hub id. Say both what was looked for
            // as a folder and what happened as a hub id.
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"There is no model folder {Path.GetFullPath(pathOrHubId)}, and as a hub id: {e.Message}", e);
        }
    }

    private static bool BlobIsWhole(string blob, HubFileMetadata metadata) =>
        File.Exists(blob) && (metadata.Size is not { } size || new FileInfo(blob).Length == size);

    /// <summary>
    /// <c>snapshots/&lt;commit&gt;/a/b</c> → <c>../../../blobs/&lt;etag&gt;</c>, relative as huggingface_hub
    /// makes it, so the cache can be moved or mounted elsewhere. Where links cannot be made, a copy.
    /// </summary>
    private static void LinkIntoSnapshot(string blob, string pointer)
    {
        var folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        var temporary = $"{pointer}.{Environment.ProcessId}.tmp";
        try
        {
            File.CreateSymbolicLink(temporary, Path.GetRelativePath(folder, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            File.Copy(blob, temporary, overwrite: true);
        }
        // Renaming over the old entry is atomic: a reader sees the old link or the new one.
        File.Move(temporary, pointer, overwrite: true);
    }

    private static void WriteRef(string repoDirectory, string revision, string commit)
    {
        var path = Path.Combine(repoDirectory, "refs", revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, commit);   // no newline, as huggingface_hub writes it
        File.Move(temporary, path, overwrite: true);
    }
}
