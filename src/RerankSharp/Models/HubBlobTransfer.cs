using System.Net;
using System.Security.Cryptography;

namespace RerankSharp.Models;

/// <summary>
/// Fetches one blob into <c>blobs/&lt;etag&gt;</c> as huggingface_hub does: bytes go to
/// <c>blobs/&lt;etag&gt;.incomplete</c>, a cut transfer is resumed with an HTTP Range request (in
/// this run, or by the next run that finds the <c>.incomplete</c> file), an LFS file's SHA-256 must
/// equal its ETag, and only then is the file renamed into place, so a blob under its final name
/// is always whole.
/// </summary>
internal sealed class HubBlobTransfer(HubClient client, HubDownloadOptions options, IProgress<HubDownloadProgress>? progress)
{
    private const int BufferSize = 1 << 20;

    public async Task DownloadAsync(string repoId, string file, HubFileMetadata metadata, string blobPath, CancellationToken ct)
    {
        var incomplete = blobPath + ".incomplete";
        var hash = metadata.IsLfs ? new PrefixHash(incomplete) : null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                long offset = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
                if (metadata.Size is { } expected && offset > expected)
                {
                    // Longer than the file can be: not a prefix of it.
                    File.Delete(incomplete);
                    offset = 0;
                }
                try
                {
                    if (metadata.Size is { } size && offset == size) break;
                    await TransferAsync(repoId, file, metadata, incomplete, offset, hash, ct).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (IsTransient(e, ct) && attempt < options.MaxAttempts)
                {
                    var done = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
                    progress?.Report(new HubDownloadProgress(file, HubFileState.Retrying, done, metadata.Size, Describe(e)));
                    await Task.Delay(options.RetryDelay * (1 << Math.Min(attempt - 1, 5)), ct).ConfigureAwait(false);
                }
                catch (Exception e) when (IsTransient(e, ct))
                {
                    throw new RerankException(RerankErrorKind.ModelNotFound,
                        $"The transfer of {repoId}/{file} from {metadata.DownloadUrl.Host} failed {options.MaxAttempts} times ({Describe(e)}); run the same command again to resume it, or set HF_ENDPOINT to another mirror.", e);
                }
            }

            var length = new FileInfo(incomplete).Length;
            if (metadata.Size is { } total && length != total)
                throw new RerankException(RerankErrorKind.InvalidModel,
                    $"{repoId}/{file} arrived with {length} bytes but the hub says {total}; the partial file was kept; run the download again to resume it.");
            if (hash is not null)
            {
                var actual = hash.Finish();
                if (!string.Equals(actual, metadata.ETag, StringComparison.OrdinalIgnoreCase))
                {
                    File.Delete(incomplete);
                    throw new RerankException(RerankErrorKind.InvalidModel,
                        $"{repoId}/{file} is corrupt: its SHA-256 is {actual} but the hub says {metadata.ETag}. It was deleted; run the download again, or set HF_ENDPOINT to another mirror if it fails the same way.");
                }
            }
            File.Move(incomplete, blobPath, overwrite: true);
        }
        finally
        {
            hash?.Dispose();
        }
    }

    private async Task TransferAsync(string repoId, string file, HubFileMetadata metadata, string incomplete, long offset, PrefixHash? hash,
        CancellationToken ct)
    {
        using var response = await client.GetFileAsync(metadata.DownloadUrl, offset, repoId, file, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The partial file does not fit what the server holds now: start over.
            File.Delete(incomplete);
            throw new HubTransferCutException("the server refused to resume (416); starting over");
        }
        if (offset > 0 && response.StatusCode != HttpStatusCode.PartialContent)
            offset = 0;   // the server ignored the Range header and sends the whole file

        if (offset == 0) File.Delete(incomplete);
        hash?.Start(offset);
        progress?.Report(new HubDownloadProgress(file, HubFileState.Started, offset, metadata.Size));
        await using var output = new FileStream(incomplete, offset > 0 ? FileMode.Append : FileMode.CreateNew, FileAccess.Write, FileShare.Read,
            bufferSize: 0, FileOptions.Asynchronous);
        await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[BufferSize];
        var done = offset;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        while (true)
        {
            // A connection that stays open and sends nothing is as cut as a closed one.
            stall.CancelAfter(options.StallTimeout);
            var read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
            if (read == 0) break;
            await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            hash?.Append(buffer.AsSpan(0, read));
            done += read;
            progress?.Report(new HubDownloadProgress(file, HubFileState.Transferring, done, metadata.Size));
        }
        if (metadata.Size is { } size && done < size)
            throw new HubTransferCutException($"the connection closed after {done} of {size} bytes");
    }

    private static bool IsTransient(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e is HttpRequestException or HubTransferCutException or OperationCanceledException
            or IOException { InnerException: not null } or HttpIOException;

    private static string Describe(Exception e) => e switch
    {
        OperationCanceledException => "no data arrived for too long",
        HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded } => "the connection closed before the end of the file",
        HubTransferCutException => e.Message,
        _ => (e.InnerException?.Message ?? e.Message).TrimEnd('.'),
    };

    /// <summary>A transfer ended before the whole file arrived.</summary>
    private sealed class HubTransferCutException(string message) : IOException(message);

    /// <summary>
    /// SHA-256 of the <c>.incomplete</c> file as it grows. A resumed transfer first hashes the bytes
    /// already on disk, so the whole file is read once, whichever run wrote it.
    /// </summary>
    private sealed class PrefixHash(string path) : IDisposable
    {
        private IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _hashed;

        public void Start(long offset)
        {
            if (offset == _hashed) return;
            _hash.Dispose();
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            _hashed = 0;
            if (offset == 0) return;
            using var existing = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, BufferSize);
            var buffer = new byte[BufferSize];
            while (_hashed < offset)
            {
                var read = existing.Read(buffer, 0, (int)Math.Min(buffer.Length, offset - _hashed));
                if (read == 0) break;
                Append(buffer.AsSpan(0, read));
            }
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            _hash.AppendData(bytes);
            _hashed += bytes.Length;
        }

        /// <summary>The digest of the whole file, even when nothing was transferred in this run.</summary>
        public string Finish()
        {
            Start(new FileInfo(path).Length);
            return Convert.ToHexStringLower(_hash.GetHashAndReset());
        }

        public void Dispose() => _hash.Dispose();
    }
}
