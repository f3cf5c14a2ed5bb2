using Microsoft.Extensions.DependencyInjection;
using RerankSharp.Scoring;
using RerankSharp.Server.Models;

namespace RerankSharp.Server;

/// <summary>Registers what <see cref="RerankEndpoints.MapRerankEndpoints"/> needs.</summary>
public static class RerankServiceCollectionExtensions
{
    /// <summary>
    /// Serves <paramref name="encoder"/> (loaded once by the caller, who also disposes it after the host has stopped,
    /// so that in-flight requests finish first) as the one model, named <see cref="RerankServerOptions.ModelName"/>.
    /// </summary>
    public static IServiceCollection AddRerankServer(this IServiceCollection services, CrossEncoder encoder, Action<RerankServerOptions>? configure = null)
    {
        var options = new RerankServerOptions();
        configure?.Invoke(options);
        return services.AddRerankServer(encoder, options);
    }

    /// <inheritdoc cref="AddRerankServer(IServiceCollection, CrossEncoder, Action{RerankServerOptions}?)"/>
    public static IServiceCollection AddRerankServer(this IServiceCollection services, CrossEncoder encoder, RerankServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(options);
        return services.AddRerankServer((IReranker)encoder, options);
    }

    /// <summary>
    /// Serves <paramref name="reranker"/> — the engine, a remote reranker, or either inside middleware — as the one
    /// model, named <see cref="RerankServerOptions.ModelName"/>. The caller keeps and disposes it.
    /// </summary>
    public static IServiceCollection AddRerankServer(this IServiceCollection services, IReranker reranker, RerankServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(reranker);
        ArgumentNullException.ThrowIfNull(options);
        var models = new RerankModelRegistry().Add(options.ModelName, reranker, AliasesOf(reranker, options.ModelName));
        services.AddSingleton(models);
        return services.AddRerankServerCore(options);
    }

    /// <summary>
    /// Serves the models of <paramref name="models"/> by name (the request's <c>model</c> field picks one; the first
    /// is the default). The caller keeps the registry and disposes it after the host has stopped.
    /// </summary>
    public static IServiceCollection AddRerankServer(this IServiceCollection services, RerankModelRegistry models, RerankServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(options);
        if (models.Models.Count == 0) throw new ArgumentException("The registry has no models; add at least one.", nameof(models));
        services.AddSingleton(models);
        return services.AddRerankServerCore(options);
    }

    /// <summary>
    /// Serves the <see cref="IReranker"/>s registered under the keys <paramref name="names"/> (keyed services, as
    /// <c>AddKeyedReranker(name, …)</c> of RerankSharp.Extensions registers them), each by its key; the first is the
    /// default. The container owns them.
    /// </summary>
    public static IServiceCollection AddRerankServer(this IServiceCollection services, RerankServerOptions options, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(names);
        if (names.Length == 0) throw new ArgumentException("Name at least one keyed reranker to serve.", nameof(names));
        services.AddSingleton(sp =>
        {
            var models = new RerankModelRegistry();
            foreach (var name in names)
                models.Add(name, sp.GetKeyedService<IReranker>(name) ?? throw new InvalidOperationException(
                    $"No IReranker is registered under the key \"{name}\"; register it with services.AddKeyedReranker(\"{name}\", …) first."));
            return models;
        });
        return services.AddRerankServerCore(options);
    }

    // The folder or hub id the reranker was loaded from also picks it, when it is not already its name.
    private static IEnumerable<string> AliasesOf(IReranker reranker, string name) =>
        reranker.GetService<RerankerMetadata>()?.ModelId is { } id && !id.Equals(name, StringComparison.OrdinalIgnoreCase) ? [id] : [];

    private static IServiceCollection AddRerankServerCore(this IServiceCollection services, RerankServerOptions options)
    {
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton<ApiKeyCheck>();
        services.AddMetrics();
        services.AddSingleton<RerankMetrics>();
        services.AddSingleton<InFlightRequests>();
        services.AddSingleton<RankingService>();
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(provider => provider.GetRequiredService<ShutdownDrain>());
        services.AddOpenApi(openApi => openApi.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "RerankSharp";
            document.Info.Description = "Cross-encoder reranking in TEI, Jina and Cohere (v1, v2) shapes. Scores are sigmoid (0–1) unless raw_scores is set.";
            return Task.CompletedTask;
        }));
        return services;
    }
}
