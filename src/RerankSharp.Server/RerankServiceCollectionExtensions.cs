using Microsoft.Extensions.DependencyInjection;
using RerankSharp.Scoring;

namespace RerankSharp.Server;

/// <summary>Registers what <see cref="RerankEndpoints.MapRerankEndpoints"/> needs.</summary>
public static class RerankServiceCollectionExtensions
{
    /// <summary>
    /// Serves <paramref name="encoder"/> (loaded once by the caller, who also disposes it after the host has stopped,
    /// so that in-flight requests finish first).
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
        options.Validate();
        services.AddSingleton(encoder);
        services.AddSingleton(options);
        services.AddSingleton<ApiKeyCheck>();
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
