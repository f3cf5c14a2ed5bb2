namespace RerankSharp.Models;

/// <summary>
/// Where and what <see cref="HubDownload"/> fetches. Every setting left null is taken from the
/// environment variables that Python's huggingface_hub reads, so both tools agree on one machine.
/// </summary>
public sealed record HubDownloadOptions
{
    /// <summary>The hub's default endpoint, used when neither <see cref="Endpoint"/> nor <c>HF_ENDPOINT</c> is set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Branch, tag or commit to fetch; <c>refs/&lt;revision&gt;</c> in the cache records the commit it pointed at.</summary>
    public string Revision { get; init; } = "main";

    /// <summary>
    /// Glob patterns (<c>*</c> and <c>?</c>, matched against the whole repository path as Python's
    /// fnmatch does, so <c>*</c> also crosses <c>/</c>) of the files to fetch; null = only the files
    /// inference needs (<see cref="HubFileSelection"/>).
    /// </summary>
    public IReadOnlyList<string>? Include { get; init; }

    /// <summary>Hub or mirror base address; null = <c>HF_ENDPOINT</c>, else <see cref="DefaultEndpoint"/>.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Access token for private or gated models; null = <c>HF_TOKEN</c>, else the file <c>huggingface-cli login</c> writes.</summary>
    public string? Token { get; init; }

    /// <summary>Cache root; null = <see cref="HubCache.Root"/> (<c>HF_HUB_CACHE</c>, <c>HF_HOME/hub</c>, <c>~/.cache/huggingface/hub</c>).</summary>
    public string? CacheRoot { get; init; }

    /// <summary>Use only the cache and never the network; null = <c>HF_HUB_OFFLINE</c> is 1 (or true/yes/on).</summary>
    public bool? Offline { get; init; }

    /// <summary>How long a transfer may deliver no byte before it is dropped and resumed.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Tries per file: a transfer cut short is resumed with an HTTP Range request this many times in all.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Pause before the first retry; it doubles with each further one.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    internal string ResolvedEndpoint => (Endpoint ?? Env("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/');

    internal string ResolvedCacheRoot => CacheRoot ?? HubCache.Root;

    internal bool ResolvedOffline => Offline ?? Env("HF_HUB_OFFLINE")?.ToLowerInvariant() is "1" or "true" or "yes" or "on";

    internal string? ResolvedToken
    {
        get
        {
            if (Token is not null) return Token.Length > 0 ? Token : null;
            if (Env("HF_TOKEN") is { } token) return token;
            // `huggingface-cli login` / `hf auth login` store the token in a file beside the cache.
            var path = Env("HF_TOKEN_PATH") ?? Path.Combine(Env("HF_HOME") ?? DefaultHfHome, "token");
            try
            {
                return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } stored ? stored : null;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Revision))
            throw new RerankException(RerankErrorKind.InvalidInput, "The revision is empty; pass a branch, tag or commit such as main.");
        if (MaxAttempts < 1)
            throw new RerankException(RerankErrorKind.InvalidInput, $"MaxAttempts {MaxAttempts} must be at least 1.");
        if (!Uri.TryCreate(ResolvedEndpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"Hub endpoint '{ResolvedEndpoint}' is not an http(s) address; set HF_ENDPOINT to one such as {DefaultEndpoint}.");
    }

    private static string DefaultHfHome
    {
        get
        {
            var xdg = Env("XDG_CACHE_HOME");
            var cache = xdg ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "huggingface");
        }
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
