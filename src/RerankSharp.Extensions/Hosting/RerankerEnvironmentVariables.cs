using System.Collections;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using RerankSharp.Hosting;

namespace Microsoft.Extensions.Configuration;

/// <summary>
/// <c>RERANK_…</c> environment variables — the names the <c>rerank</c> CLI reads — as keys of the <c>"Reranker"</c>
/// section: <c>RERANK_MAX_BATCH_TOKENS=8192</c> becomes <c>Reranker:MaxBatchTokens</c>. Added after appsettings.json,
/// they override it, as the CLI's variables override its defaults.
/// </summary>
public static class RerankerEnvironmentVariables
{
    /// <summary>Variable → key under <see cref="RerankerSettings.SectionName"/>.</summary>
    public static IReadOnlyDictionary<string, string> Names { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["RERANK_MODEL"] = nameof(RerankerSettings.Model),
        ["RERANK_DEVICE"] = nameof(RerankerSettings.Device),
        ["RERANK_PRECISION"] = nameof(RerankerSettings.Precision),
        ["RERANK_MAX_LENGTH"] = nameof(RerankerSettings.MaxLength),
        ["RERANK_BATCH_SIZE"] = nameof(RerankerSettings.BatchSize),
        ["RERANK_MAX_BATCH_TOKENS"] = nameof(RerankerSettings.MaxBatchTokens),
        ["RERANK_MAX_QUEUED_TOKENS"] = nameof(RerankerSettings.MaxQueuedTokens),
        ["RERANK_THREADS"] = nameof(RerankerSettings.Threads),
        ["RERANK_RAW"] = nameof(RerankerSettings.Raw),
        ["RERANK_ACTIVATION"] = nameof(RerankerSettings.Activation),
        ["RERANK_ENDPOINT"] = nameof(RerankerSettings.Endpoint),
        ["RERANK_API"] = nameof(RerankerSettings.Api),
        ["RERANK_API_KEY"] = nameof(RerankerSettings.ApiKey),
        ["RERANK_MAX_DOCUMENTS_PER_REQUEST"] = nameof(RerankerSettings.MaxDocumentsPerRequest),
        ["RERANK_TIMEOUT"] = nameof(RerankerSettings.Timeout),
        ["RERANK_MAX_RETRIES"] = nameof(RerankerSettings.MaxRetries),
    };

    /// <summary>Adds the process's <c>RERANK_…</c> variables (or <paramref name="variables"/>, for tests) to the configuration.</summary>
    public static IConfigurationBuilder AddRerankEnvironmentVariables(this IConfigurationBuilder builder, IDictionary? variables = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new Source(variables));
    }

    private sealed class Source(IDictionary? variables) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(variables);
    }

    private sealed class Provider(IDictionary? variables) : ConfigurationProvider
    {
        public override void Load()
        {
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (DictionaryEntry entry in variables ?? Environment.GetEnvironmentVariables())
            {
                if (entry.Key is not string name || entry.Value is not string { Length: > 0 } value || !Names.TryGetValue(name, out var key)) continue;
                data[$"{RerankerSettings.SectionName}:{key}"] = name switch
                {
                    // The CLI's switches take 1/0 as well as true/false; the binder only the latter.
                    "RERANK_RAW" => value is "1" or "true" or "True" ? "true" : "false",
                    // Seconds, like RERANK_SHUTDOWN_TIMEOUT; a bare number would bind as days.
                    "RERANK_TIMEOUT" => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                        ? TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture)
                        : value,
                    _ => value,
                };
            }
            Data = data;
        }
    }
}
