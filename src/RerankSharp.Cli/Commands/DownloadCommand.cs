using System.CommandLine;
using RerankSharp.Models;

namespace RerankSharp.Cli.Commands;

/// <summary>
/// <c>rerank download ID</c>: fetches a model into the Hugging Face cache (the layout Python's
/// huggingface_hub uses, so both reuse it) with progress on standard error, and prints the
/// snapshot folder on standard output, for <c>--model "$(rerank download ID)"</c> or a Dockerfile.
/// </summary>
internal static class DownloadCommand
{
    public static Command Create()
    {
        var id = new Argument<string?>("id")
        {
            Description = "Hub id such as BAAI/bge-reranker-v2-m3 (default: --model).",
            // System.CommandLine lists an optional argument as <id> in the command list and [<id>] in the usage line;
            // hidden, it is described once, in the command's description, as optional.
            Hidden = true,
            Arity = ArgumentArity.ZeroOrOne,
        };
        var revision = new Option<string>("--revision")
        {
            Description = "Branch, tag or commit. Env: RERANK_REVISION.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("RERANK_REVISION") is { Length: > 0 } r ? r : "main",
        };
        var include = new Option<string[]>("--include")
        {
            Description = "Download the files matching this glob (fnmatch: * also crosses /) instead of the ones inference needs; repeat for more.",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("download",
            "rerank download [ID]: download model ID (default: --model, e.g. BAAI/bge-reranker-v2-m3) from the Hugging Face Hub (or HF_ENDPOINT) into the Hugging Face cache, resuming where a previous run stopped. "
            + "HF_TOKEN for private or gated models; HF_HOME / HF_HUB_CACHE choose the cache.")
        { id, revision, include };
        command.SetAction((result, token) => Cli.Run(result, token, async ct =>
        {
            var repoId = result.GetValue(id) ?? result.GetValue(CommonOptions.Model)!;
            if (!HubCache.LooksLikeHubId(repoId))
                throw new RerankException(RerankErrorKind.InvalidInput,
                    $"'{repoId}' is not a hub id; pass one of the form org/name, such as {CommonOptions.DefaultModel}. A local folder needs no download.");
            var options = new HubDownloadOptions
            {
                Revision = result.GetValue(revision)!,
                Include = result.GetValue(include) is { Length: > 0 } patterns ? patterns : null,
            };
            HubSnapshot snapshot;
            try
            {
                await using var progress = new DownloadProgressView();
                snapshot = await HubDownload.DownloadAsync(repoId, options, progress, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw new StoppedRunException("what arrived is kept in the cache (blobs/*.incomplete); run the same command to resume.");
            }
            Console.Error.WriteLine(snapshot.BytesDownloaded > 0
                ? $"{repoId} @ {snapshot.Commit[..Math.Min(12, snapshot.Commit.Length)]}: {snapshot.Files.Count} files, {Bytes.Format(snapshot.BytesDownloaded)} downloaded"
                : $"{repoId} @ {snapshot.Commit[..Math.Min(12, snapshot.Commit.Length)]}: {snapshot.Files.Count} files, all already in the cache");
            Console.Out.WriteLine(snapshot.Directory);
            return 0;
        }));
        return command;
    }
}
