using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Timeout;
using RerankSharp;
using RerankSharp.Hosting;
using RerankSharp.Remote;
using RerankSharp.Scoring;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers an <see cref="IReranker"/> singleton — a model loaded in this process, or a server called over HTTP — and
/// returns its <see cref="RerankerBuilder"/> so middleware can be added: <c>services.AddReranker(config).UseLogging()</c>.
/// </summary>
public static class RerankerServiceCollectionExtensions
{
    /// <summary>
    /// From the <c>"Reranker"</c> section (<see cref="RerankerSettings"/>): a <see cref="RemoteReranker"/> when
    /// <c>Endpoint</c> is set, else a <see cref="CrossEncoder"/> of <c>Model</c> loaded when the host starts.
    /// </summary>
    public static RerankerBuilder AddReranker(this IServiceCollection services, IConfiguration configuration, string sectionName = RerankerSettings.SectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = new RerankerSettings();
        try
        {
            configuration.GetSection(sectionName).Bind(settings);
        }
        catch (InvalidOperationException e)
        {
            throw new RerankException(RerankErrorKind.InvalidInput,
                $"Configuration section \"{sectionName}\" has a value that does not fit: {e.GetBaseException().Message} See docs/dotnet.md for the keys and their values.", e);
        }
        return services.AddReranker(settings);
    }

    /// <inheritdoc cref="AddReranker(IServiceCollection, IConfiguration, string)"/>
    public static RerankerBuilder AddReranker(this IServiceCollection services, Action<RerankerSettings> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var settings = new RerankerSettings();
        configure(settings);
        return services.AddReranker(settings);
    }

    /// <inheritdoc cref="AddReranker(IServiceCollection, IConfiguration, string)"/>
    public static RerankerBuilder AddReranker(this IServiceCollection services, RerankerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var builder = settings.Endpoint is null
            ? services.AddCrossEncoder(settings.Model ?? RerankerSettings.DefaultModel, settings.ToCrossEncoderOptions(), settings.WaitForModel)
            : services.AddRemoteReranker(settings.ToRemoteOptions(), resilience =>
            {
                resilience.AttemptTimeout.Timeout = settings.Timeout;
                resilience.TotalRequestTimeout.Timeout = settings.TotalTimeout;
                resilience.CircuitBreaker.SamplingDuration = Max(resilience.CircuitBreaker.SamplingDuration, 2 * settings.Timeout);
                resilience.Retry.Delay = settings.RetryDelay;
                if (settings.MaxRetries > 0) resilience.Retry.MaxRetryAttempts = settings.MaxRetries;
                // Polly's retry takes at least one attempt; "no retries" is a retry that handles nothing.
                else resilience.Retry.ShouldHandle = _ => ValueTask.FromResult(false);
            });
        if (settings.Raw) builder.ConfigureOptions(options => options with { RawScores = true });
        return builder;
    }

    /// <summary>
    /// A <see cref="CrossEncoder"/> of <paramref name="model"/> (folder or hub id), loaded in the background when the host
    /// starts (or, with <paramref name="waitForModel"/>, before the host's start completes); calls made while it loads
    /// wait. Its logger is the container's unless <paramref name="options"/> names one. Disposed with the container.
    /// </summary>
    public static RerankerBuilder AddCrossEncoder(this IServiceCollection services, string model, CrossEncoderOptions? options = null, bool waitForModel = false)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(model);
        options ??= new CrossEncoderOptions();
        services.AddSingleton(sp =>
        {
            var loggers = sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return new HostedCrossEncoder(model, options.Logger is null ? options with { Logger = loggers.CreateLogger<CrossEncoder>() } : options,
                loggers.CreateLogger<HostedCrossEncoder>());
        });
        services.AddSingleton<IRerankerReadiness>(sp => sp.GetRequiredService<HostedCrossEncoder>());
        services.AddHostedService(sp => new RerankerStartup(sp.GetRequiredService<HostedCrossEncoder>(), waitForModel));
        return services.AddReranker(sp => sp.GetRequiredService<HostedCrossEncoder>());
    }

    /// <summary>
    /// A <see cref="RemoteReranker"/> over a client from <see cref="IHttpClientFactory"/> with the standard resilience
    /// handler set for reranking: each attempt limited to 100 s and the call to 5 min; up to 3 retries of 408, 429, 502,
    /// 503 and 504 answers and of connection failures, after the server's <c>Retry-After</c> when it sends one, else
    /// after 1 s doubling with jitter; never a retry of another 4xx (a validation error fails at once) or of a 500.
    /// <paramref name="configureResilience"/> changes any of it.
    /// </summary>
    public static RerankerBuilder AddRemoteReranker(this IServiceCollection services, RemoteRerankerOptions options,
        Action<HttpStandardResilienceOptions>? configureResilience = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // One named client per registration, so two remote rerankers never share (or double) handlers.
        var clientName = $"RerankSharp.Remote {options.Api} {options.Endpoint} {Guid.NewGuid():N}";
        services.AddHttpClient(clientName, client => client.Timeout = Timeout.InfiniteTimeSpan)   // the handler's timeouts rule
            .AddStandardResilienceHandler(resilience =>
            {
                resilience.AttemptTimeout.Timeout = TimeSpan.FromSeconds(100);
                resilience.TotalRequestTimeout.Timeout = TimeSpan.FromMinutes(5);
                resilience.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(200);   // at least twice the attempt timeout
                resilience.Retry.MaxRetryAttempts = 3;
                resilience.Retry.Delay = TimeSpan.FromSeconds(1);
                resilience.Retry.BackoffType = DelayBackoffType.Exponential;
                resilience.Retry.UseJitter = true;
                resilience.Retry.ShouldRetryAfterHeader = true;
                resilience.Retry.ShouldHandle = args => ValueTask.FromResult(IsRetryable(args.Outcome));
                configureResilience?.Invoke(resilience);
            });
        services.AddSingleton(sp => new RemoteReranker(sp.GetRequiredService<IHttpClientFactory>(), clientName, options));
        services.AddSingleton<IRerankerReadiness>(sp => new RemoteReadiness(sp.GetRequiredService<RemoteReranker>(), sp.GetRequiredService<IHttpClientFactory>(), clientName));
        return services.AddReranker(sp => sp.GetRequiredService<RemoteReranker>());
    }

    /// <summary>Registers the reranker <paramref name="innerRerankerFactory"/> makes, wrapped by the middleware added to the returned builder.</summary>
    public static RerankerBuilder AddReranker(this IServiceCollection services, Func<IServiceProvider, IReranker> innerRerankerFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new RerankerBuilder(innerRerankerFactory);
        services.AddSingleton(sp => builder.Build(sp));
        return builder;
    }

    /// <summary>
    /// Registers the reranker <paramref name="innerRerankerFactory"/> makes as a keyed <see cref="IReranker"/> under
    /// <paramref name="name"/>, wrapped by the middleware added to the returned builder: one of several models an
    /// application (or <c>AddRerankServer(options, names)</c> of RerankSharp.Server, which serves them by name) resolves
    /// with <c>[FromKeyedServices(name)] IReranker</c> or <c>GetRequiredKeyedService&lt;IReranker&gt;(name)</c>.
    /// </summary>
    public static RerankerBuilder AddKeyedReranker(this IServiceCollection services, string name, Func<IServiceProvider, IReranker> innerRerankerFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var builder = new RerankerBuilder(innerRerankerFactory);
        services.AddKeyedSingleton(name, (sp, _) => builder.Build(sp));
        return builder;
    }

    /// <summary>
    /// A <see cref="CrossEncoder"/> of <paramref name="model"/> (folder or hub id) as the keyed <see cref="IReranker"/>
    /// <paramref name="name"/>, loaded on first use and disposed with the container.
    /// </summary>
    public static RerankerBuilder AddKeyedReranker(this IServiceCollection services, string name, string model, CrossEncoderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        options ??= new CrossEncoderOptions();
        services.AddKeyedSingleton(name, (sp, _) =>
        {
            var loggers = sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return new HostedCrossEncoder(model, options.Logger is null ? options with { Logger = loggers.CreateLogger<CrossEncoder>() } : options,
                loggers.CreateLogger<HostedCrossEncoder>());
        });
        return services.AddKeyedReranker(name, sp => sp.GetRequiredKeyedService<HostedCrossEncoder>(name));
    }

    /// <summary>
    /// A health check named <paramref name="name"/> that reports the registered reranker (<see cref="RerankerHealthCheck"/>):
    /// healthy when ready; <paramref name="failureStatus"/> (default Unhealthy) while loading or after a failure.
    /// </summary>
    public static IHealthChecksBuilder AddRerankerCheck(this IHealthChecksBuilder builder, string name = "reranker",
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(name, sp => new RerankerHealthCheck(sp.GetService<IRerankerReadiness>()), failureStatus, tags));
    }

    // Overload and unavailability pass; a refused request (400, 401, 404, 413, 422) or a server error (500) would fail again.
    private static bool IsRetryable(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout,
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        _ => false,
    };

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
