using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RerankSharp.Scoring;

/// <summary>The <c>Use…</c> methods that add RerankSharp's middleware to a <see cref="RerankerBuilder"/>.</summary>
public static class RerankerBuilderExtensions
{
    /// <summary>A builder whose inner reranker is <paramref name="innerReranker"/>.</summary>
    public static RerankerBuilder AsBuilder(this IReranker innerReranker) => new(innerReranker);

    /// <summary>
    /// Logs calls through <paramref name="loggerFactory"/>, or the pipeline's <see cref="ILoggerFactory"/> service when
    /// none is given; with neither, nothing is added.
    /// </summary>
    public static RerankerBuilder UseLogging(this RerankerBuilder builder, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            var factory = loggerFactory ?? (ILoggerFactory?)services.GetService(typeof(ILoggerFactory));
            return factory is null or NullLoggerFactory ? inner : new LoggingReranker(inner, factory.CreateLogger<LoggingReranker>());
        });
    }

    /// <summary>Traces and measures calls under <see cref="RerankTelemetry.SourceName"/> (see <see cref="OpenTelemetryReranker"/>).</summary>
    public static RerankerBuilder UseOpenTelemetry(this RerankerBuilder builder, Action<OpenTelemetryReranker>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use(inner =>
        {
            var reranker = new OpenTelemetryReranker(inner);
            configure?.Invoke(reranker);
            return reranker;
        });
    }

    /// <summary>Keeps up to <paramref name="capacity"/> scores and scores only documents not seen with the query (see <see cref="ScoreCachingReranker"/>).</summary>
    public static RerankerBuilder UseScoreCache(this RerankerBuilder builder, int capacity = 10_000)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The score cache must hold at least one entry.");
        return builder.Use(inner => new ScoreCachingReranker(inner, capacity));
    }

    /// <summary>Rewrites every call's options (see <see cref="ConfigureOptionsReranker"/>).</summary>
    public static RerankerBuilder ConfigureOptions(this RerankerBuilder builder, Func<RerankOptions, RerankOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.Use(inner => new ConfigureOptionsReranker(inner, configure));
    }
}
