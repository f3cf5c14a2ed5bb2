using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace RerankSharp.Tests;

/// <summary>
/// A Hugging Face Hub on 127.0.0.1 for tests, speaking the parts of the protocol huggingface_hub
/// uses: <c>/api/models/{id}/revision/{rev}</c>, <c>HEAD</c>/<c>GET /{id}/resolve/{rev}/{file}</c>
/// (regular files answered directly with their git blob SHA-1 as ETag; LFS files by a 302 to a
/// "CDN" path with X-Linked-Etag = SHA-256 and X-Linked-Size), Range requests, 401/404 with
/// X-Error-Code. Faults (a cut transfer, a corrupt blob) are switched on per test.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    public sealed record Repo(string Id, string Commit, IReadOnlyDictionary<string, byte[]> Files, string? Token);

    public sealed record Request(string Method, string Path, string? Range, bool HadAuthorization);

    private readonly HttpListener _listener;
    private readonly ConcurrentDictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _cdn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _cutsLeft = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _corrupt = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public FakeHub()
    {
        for (var attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener = new HttpListener();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // Someone took the port between the probe and the listener: try another.
            }
        }
        _loop = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>
    /// Files are stored in Git LFS as on the real hub: weights, tokenizer models and tokenizer.json,
    /// binaries and images; the rest are regular git files.
    /// </summary>
    public static bool IsLfs(string path) =>
        path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".model", StringComparison.Ordinal)
        || path.EndsWith(".bin", StringComparison.Ordinal) || path.EndsWith(".onnx", StringComparison.Ordinal)
        || path.EndsWith(".png", StringComparison.Ordinal) || path.EndsWith("tokenizer.json", StringComparison.Ordinal);

    public Repo AddRepo(string id, IReadOnlyDictionary<string, byte[]> files, string? token = null)
    {
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + files.Count + string.Join(",", files.Keys))));
        var repo = new Repo(id, commit, files, token);
        _repos[id] = repo;
        foreach (var (path, bytes) in files)
            if (IsLfs(path)) _cdn[Sha256(bytes)] = bytes;
        return repo;
    }

    /// <summary>The tiny fixture model <paramref name="fixture"/> as a hub repository, with files inference must skip.</summary>
    public Repo AddFixtureModel(string id, string fixture = "tiny-a", string? token = null)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var path in Directory.GetFiles(FixturePaths.Model(fixture)))
            files[Path.GetFileName(path)] = File.ReadAllBytes(path);   // follows the fixture's links
        files[".gitattributes"] = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"u8.ToArray();
        files["README.md"] = "# tiny random-weight reranker\n"u8.ToArray();
        files["onnx/model.onnx"] = new byte[4096];
        files["pytorch_model.bin"] = new byte[8192];
        files["images/logo.png"] = new byte[1024];
        return AddRepo(id, files, token);
    }

    /// <summary>The next <paramref name="times"/> CDN transfers of <paramref name="path"/> stop after half the bytes asked for.</summary>
    public void CutTransfers(Repo repo, string path, int times = 1)
    {
        lock (_cutsLeft) _cutsLeft[Sha256(repo.Files[path])] = times;
    }

    /// <summary>The CDN serves <paramref name="path"/> with one byte changed (same length), as a broken mirror might.</summary>
    public void Corrupt(Repo repo, string path) => _corrupt[Sha256(repo.Files[path])] = 1;

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The id git gives a file: SHA-1 of "blob {length}\0" and the bytes; the hub's ETag of a regular file.</summary>
    public static string GitBlobId(byte[] bytes) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => Handle(context));
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        Requests.Enqueue(new Request(request.HttpMethod, path, request.Headers["Range"], request.Headers["Authorization"] is not null));
        try
        {
            if (path.StartsWith("/api/models/", StringComparison.Ordinal)) ServeApi(request, response, path["/api/models/".Length..]);
            else if (path.StartsWith("/cdn/", StringComparison.Ordinal)) ServeCdn(request, response, path["/cdn/".Length..]);
            else ServeResolve(request, response, path[1..]);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The client went away.
        }
    }

    // /api/models/{org}/{name}/revision/{rev}
    private void ServeApi(HttpListenerRequest request, HttpListenerResponse response, string rest)
    {
        var parts = rest.Split('/', 4);
        if (parts.Length < 4 || parts[2] != "revision") { Error(response, 404, "EntryNotFound"); return; }
        if (!Authorized(request, response, $"{parts[0]}/{parts[1]}", out var repo)) return;
        if (parts[3] != "main" && parts[3] != repo.Commit) { Error(response, 404, "RevisionNotFound"); return; }
        var siblings = new JsonArray();
        foreach (var file in repo.Files.Keys.Order(StringComparer.Ordinal)) siblings.Add(new JsonObject { ["rfilename"] = file });
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["id"] = repo.Id, ["modelId"] = repo.Id, ["sha"] = repo.Commit, ["siblings"] = siblings }.ToJsonString());
        response.ContentType = "application/json";
        response.ContentLength64 = body.Length;
        response.OutputStream.Write(body);
        response.Close();
    }

    // /{org}/{name}/resolve/{rev}/{file...}
    private void ServeResolve(HttpListenerRequest request, HttpListenerResponse response, string rest)
    {
        var parts = rest.Split('/', 5);
        if (parts.Length < 5 || parts[2] != "resolve") { Error(response, 404, null); return; }
        if (!Authorized(request, response, $"{parts[0]}/{parts[1]}", out var repo)) return;
        if (parts[3] != "main" && parts[3] != repo.Commit) { Error(response, 404, "RevisionNotFound"); return; }
        if (!repo.Files.TryGetValue(parts[4], out var bytes)) { Error(response, 404, "EntryNotFound"); return; }
        response.Headers["X-Repo-Commit"] = repo.Commit;
        if (IsLfs(parts[4]))
        {
            var sha = Sha256(bytes);
            response.StatusCode = 302;
            response.Headers["Location"] = $"{Endpoint}/cdn/{sha}";
            response.Headers["X-Linked-Etag"] = $"\"{sha}\"";
            response.Headers["X-Linked-Size"] = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["ETag"] = $"\"{GitBlobId(Encoding.ASCII.GetBytes($"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {bytes.Length}\n"))}\"";
            response.ContentLength64 = 0;
            response.Close();
            return;
        }
        response.Headers["ETag"] = $"\"{GitBlobId(bytes)}\"";
        Send(request, response, bytes, cut: false);
    }

    private void ServeCdn(HttpListenerRequest request, HttpListenerResponse response, string sha)
    {
        if (!_cdn.TryGetValue(sha, out var bytes)) { Error(response, 404, null); return; }
        if (_corrupt.ContainsKey(sha))
        {
            bytes = (byte[])bytes.Clone();
            bytes[bytes.Length / 2] ^= 0xFF;
        }
        var cut = false;
        if (request.HttpMethod == "GET")
            lock (_cutsLeft)
                if (_cutsLeft.TryGetValue(sha, out var left) && left > 0)
                {
                    _cutsLeft[sha] = left - 1;
                    cut = true;
                }
        Send(request, response, bytes, cut);
    }

    private static void Send(HttpListenerRequest request, HttpListenerResponse response, byte[] bytes, bool cut)
    {
        long start = 0;
        if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= bytes.Length)
            {
                response.StatusCode = 416;
                response.Headers["Content-Range"] = $"bytes */{bytes.Length}";
                response.ContentLength64 = 0;
                response.Close();
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{bytes.Length - 1}/{bytes.Length}";
        }
        response.ContentLength64 = bytes.Length - start;
        if (request.HttpMethod == "HEAD")
        {
            response.Close();
            return;
        }
        var count = (int)(bytes.Length - start);
        if (cut)
        {
            // Promise the whole file, send half and drop the connection.
            response.OutputStream.Write(bytes, (int)start, count / 2);
            response.OutputStream.Flush();
            response.Abort();
            return;
        }
        response.OutputStream.Write(bytes, (int)start, count);
        response.Close();
    }

    private bool Authorized(HttpListenerRequest request, HttpListenerResponse response, string id, out Repo repo)
    {
        if (!_repos.TryGetValue(id, out repo!))
        {
            Error(response, 404, "RepoNotFound");
            return false;
        }
        if (repo.Token is not null && request.Headers["Authorization"] != $"Bearer {repo.Token}")
        {
            Error(response, 401, null);
            return false;
        }
        return true;
    }

    private static void Error(HttpListenerResponse response, int status, string? errorCode)
    {
        response.StatusCode = status;
        if (errorCode is not null) response.Headers["X-Error-Code"] = errorCode;
        var body = Encoding.UTF8.GetBytes($"{{\"error\":\"{errorCode ?? "error"}\"}}");
        response.ContentType = "application/json";
        response.ContentLength64 = body.Length;
        response.OutputStream.Write(body);
        response.Close();
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The accept loop ends with the listener.
        }
    }
}
