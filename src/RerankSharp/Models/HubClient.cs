using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>A repository at one commit: the commit it resolved to and the paths of its files.</summary>
internal sealed record HubRepoInfo(string Commit, IReadOnlyList<string> Files);

/// <summary>
/// What a <c>HEAD /{id}/resolve/{commit}/{file}</c> says about a file: the blob name (its ETag),
/// its size, where to fetch it from, and whether it lives in Git LFS (then the ETag is its SHA-256).
/// </summary>
internal sealed record HubFileMetadata(string ETag, long? Size, Uri DownloadUrl, string? Commit, bool IsLfs);

/// <summary>
/// The Hugging Face Hub HTTP protocol as huggingface_hub speaks it: <c>/api/models/{id}/revision/{rev}</c>
/// for the commit and the file list, <c>/{id}/resolve/{rev}/{file}</c> for files (answered by a
/// redirect to a CDN for LFS files), ETag / X-Linked-Etag / X-Linked-Size / X-Repo-Commit headers.
/// </summary>
internal sealed class HubClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string? _token;

    public HubClient(string endpoint, string? token)
    {
        _endpoint = new Uri(endpoint.TrimEnd('/') + "/");
        _token = token;
        // Redirects are followed by hand: huggingface_hub reads the LFS headers from the hub's own
        // redirect response, and the token must not travel to the CDN host.
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("RerankSharp", typeof(HubClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    public string Endpoint => _endpoint.ToString().TrimEnd('/');

    public bool HasToken => _token is not null;

    /// <summary>The commit <paramref name="revision"/> points at and the files of the repository there.</summary>
    public async Task<HubRepoInfo> GetRepoInfoAsync(string repoId, string revision, CancellationToken ct)
    {
        var url = new Uri(_endpoint, $"api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}");
        using var response = await SendOrExplainAsync(HttpMethod.Get, url, followAbsoluteRedirects: false, repoId, ct).ConfigureAwait(false);
        EnsureSuccess(response, repoId, revision, file: null);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            using var json = await JsonDocument.ParseAsync(body, cancellationToken: ct).ConfigureAwait(false);
            var root = json.RootElement;
            var commit = root.GetProperty("sha").GetString();
            if (string.IsNullOrEmpty(commit)) throw new JsonException("\"sha\" is empty");
            var files = root.GetProperty("siblings").EnumerateArray()
                .Select(s => s.GetProperty("rfilename").GetString() ?? throw new JsonException("\"rfilename\" is null"))
                .ToArray();
            return new HubRepoInfo(commit, files);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"{Endpoint} answered {url} with something that is not a hub repository description ({e.Message}); check HF_ENDPOINT.", e);
        }
    }

    /// <summary>
    /// HEAD of the file at <paramref name="commit"/>. Relative redirects (a renamed repository) are
    /// followed; an absolute one is the CDN location of an LFS file, whose headers are read from
    /// the redirect itself, as huggingface_hub does.
    /// </summary>
    public async Task<HubFileMetadata> GetFileMetadataAsync(string repoId, string commit, string file, CancellationToken ct)
    {
        var url = ResolveUrl(repoId, commit, file);
        using var response = await SendOrExplainAsync(HttpMethod.Head, url, followAbsoluteRedirects: false, repoId, ct).ConfigureAwait(false);
        var redirect = IsRedirect(response.StatusCode) ? Location(response) : null;
        if (redirect is null) EnsureSuccess(response, repoId, commit, file);

        var linkedETag = Header(response, "X-Linked-Etag");
        var etag = NormalizeETag(linkedETag ?? response.Headers.ETag?.Tag ?? Header(response, "ETag"))
            ?? throw new RerankException(RerankErrorKind.ModelNotFound,
                $"{Endpoint} sent no ETag for {repoId}/{file}, so it cannot be cached as huggingface_hub does; check that HF_ENDPOINT is a Hugging Face hub or mirror.");
        long? size = long.TryParse(Header(response, "X-Linked-Size"), out var linkedSize) ? linkedSize
            : redirect is null ? response.Content.Headers.ContentLength : null;
        // LFS files are named by their SHA-256; regular files by their git blob SHA-1 (40 digits).
        var isLfs = linkedETag is not null || etag.Length == 64;
        return new HubFileMetadata(etag, size, redirect ?? response.RequestMessage?.RequestUri ?? url, Header(response, "X-Repo-Commit"), isLfs);
    }

    /// <summary>
    /// GET of a file from byte <paramref name="offset"/> on, following every redirect; the caller
    /// disposes the response. Network failures come out as they are, for the caller to retry.
    /// </summary>
    public async Task<HttpResponseMessage> GetFileAsync(Uri url, long offset, string repoId, string file, CancellationToken ct)
    {
        var response = await SendAsync(HttpMethod.Get, url, offset, followAbsoluteRedirects: true, ct).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.PartialContent or HttpStatusCode.RequestedRangeNotSatisfiable)
            return response;
        using (response) EnsureSuccess(response, repoId, null, file);
        throw new RerankException(RerankErrorKind.Internal, $"HTTP {(int)response.StatusCode} passed as success. This is a bug.");
    }

    public Uri ResolveUrl(string repoId, string revision, string file) =>
        new(_endpoint, $"{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>As <see cref="SendAsync"/>, with a failure to connect turned into the one-line <see cref="Unreachable"/>.</summary>
    private async Task<HttpResponseMessage> SendOrExplainAsync(HttpMethod method, Uri url, bool followAbsoluteRedirects, string repoId, CancellationToken ct)
    {
        try
        {
            return await SendAsync(method, url, 0, followAbsoluteRedirects, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(repoId, e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw Unreachable(repoId, e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, long offset, bool followAbsoluteRedirects, CancellationToken ct)
    {
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, url);
            // The hub's ETag and sizes are those of the raw bytes; a compressed answer would break both.
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
            if (_token is not null && url.Authority == _endpoint.Authority)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!IsRedirect(response.StatusCode) || Location(response) is not { } location || hop >= 10) return response;
            var relative = response.Headers.Location is { IsAbsoluteUri: false };
            if (!relative && !followAbsoluteRedirects) return response;
            response.Dispose();
            url = location;
        }
    }

    /// <summary>The one line a user without network gets: what failed and the two ways around it.</summary>
    internal RerankException Unreachable(string repoId, Exception e) =>
        new(RerankErrorKind.ModelNotFound,
            $"Cannot reach the hub at {Endpoint} to download {repoId} ({Reason(e)}). Pass a local model folder instead of the hub id, or set HF_ENDPOINT to a hub mirror you can reach.", e);

    private static string Reason(Exception e)
    {
        var message = e.InnerException?.Message is { Length: > 0 } inner ? inner : e.Message;
        return e is OperationCanceledException ? "timed out" : message.TrimEnd('.');
    }

    private void EnsureSuccess(HttpResponseMessage response, string repoId, string? revision, string? file)
    {
        if (response.IsSuccessStatusCode) return;
        var code = (int)response.StatusCode;
        var errorCode = Header(response, "X-Error-Code");
        var what = file is null ? repoId : $"{repoId}/{file}";
        var message = (response.StatusCode, errorCode) switch
        {
            (HttpStatusCode.Unauthorized, _) when HasToken =>
                $"{Endpoint} refused the token in HF_TOKEN for {repoId} (401). Set HF_TOKEN to a valid access token that can read it.",
            (HttpStatusCode.Unauthorized, _) =>
                $"{Endpoint} needs authentication for {repoId} (401): it is private or gated, or the id is misspelt. Set HF_TOKEN to an access token that can read it.",
            (HttpStatusCode.Forbidden, _) =>
                $"Access to {repoId} on {Endpoint} is denied (403). If the model is gated, accept its conditions on its page with the account whose token is in HF_TOKEN.",
            (HttpStatusCode.NotFound, "RevisionNotFound") =>
                $"Revision '{revision}' of {repoId} was not found on {Endpoint} (404); pass an existing branch, tag or commit.",
            (HttpStatusCode.NotFound, "EntryNotFound") =>
                $"{what} was not found on {Endpoint} (404); the repository does not hold that file.",
            (HttpStatusCode.NotFound, _) when file is null =>
                $"Repository {repoId} was not found on {Endpoint} (404). Check the id (e.g. BAAI/bge-reranker-v2-m3) and HF_ENDPOINT.",
            (HttpStatusCode.NotFound, _) =>
                $"{what} was not found on {Endpoint} (404).",
            _ => $"{Endpoint} answered HTTP {code} {response.ReasonPhrase} for {what}; try again later, or set HF_ENDPOINT to another mirror.",
        };
        throw new RerankException(RerankErrorKind.ModelNotFound, message);
    }

    private static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400;

    private static Uri? Location(HttpResponseMessage response) =>
        response.Headers.Location is not { } location ? null
            : location.IsAbsoluteUri ? location
            : new Uri(response.RequestMessage!.RequestUri!, location);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    /// <summary>huggingface_hub's <c>_normalize_etag</c>: drop a weak marker and the quotes.</summary>
    internal static string? NormalizeETag(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag)) return null;
        var value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal)) value = value[2..];
        value = value.Trim('"');
        return value.Length == 0 || value.Contains('/') || value.Contains('\\') || value.Contains("..", StringComparison.Ordinal) ? null : value;
    }

    public void Dispose() => _http.Dispose();
}
