using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RerankSharp.Scoring;

namespace RerankSharp.Hosting;

/// <summary>
/// The in-process reranker a host registers: a <see cref="CrossEncoder"/> that loads once, in the background, when the
/// host starts (<see cref="RerankerStartup"/>) or at the first call, whichever comes first. Calls made while it loads
/// wait for it; after a failed load they fail with the load's error.
/// </summary>
internal sealed class HostedCrossEncoder : IReranker, IDocumentScorer, IRerankerReadiness
{
    private readonly string _model;
    private readonly CrossEncoderOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lazy<Task<CrossEncoder>> _load;
    private readonly RerankerMetadata _metadata;
    private int _disposeCount;

    public HostedCrossEncoder(string model, CrossEncoderOptions options, ILogger logger)
    {
        _model = model;
        _options = options;
        _logger = logger;
        _load = new Lazy<Task<CrossEncoder>>(LoadAsync, LazyThreadSafetyMode.ExecutionAndPublication);
        // Before the load, the folder's name or the hub id stands for CrossEncoder.ModelId.
        _metadata = new RerankerMetadata(RerankerMetadata.InProcessProvider, null,
            Directory.Exists(model) ? new DirectoryInfo(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model))).Name : model);
    }

    public RerankerState State => !_load.IsValueCreated
        ? RerankerState.NotStarted
        : _load.Value.Status switch
        {
            TaskStatus.RanToCompletion => RerankerState.Ready,
            TaskStatus.Faulted or TaskStatus.Canceled => RerankerState.Failed,
            _ => RerankerState.Loading,
        };

    /// <summary>The load, started by the first caller.</summary>
    public Task<CrossEncoder> Loaded => _load.Value;

    private async Task<CrossEncoder> LoadAsync()
    {
        _logger.LogInformation("Loading reranker model {Model}.", _model);
        var clock = Stopwatch.StartNew();
        try
        {
            var encoder = await Task.Run(() => CrossEncoder.LoadAsync(_model, _options, _disposed.Token), _disposed.Token).ConfigureAwait(false);
            _logger.LogInformation("Reranker model {Model} ready in {Seconds:F1} s on {Provider}.", _model, clock.Elapsed.TotalSeconds, encoder.ExecutionProvider);
            if (_disposed.IsCancellationRequested)
            {
                encoder.Dispose();
                throw new ObjectDisposedException(nameof(HostedCrossEncoder));
            }
            return encoder;
        }
        catch (Exception e) when (e is not ObjectDisposedException)
        {
            _logger.LogError(e, "Reranker model {Model} failed to load.", _model);
            throw;
        }
    }

    public async Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
        RerankOptions? options = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposeCount > 0, this);
        var encoder = await Loaded.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await encoder.RerankAsync(query, documents, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The engine's per-document scores, tokens and timings once loaded (a server reports them as usage).</summary>
    public async Task<DocumentScores> ScoreDocumentsAsync(string query, IReadOnlyList<string> documents, RerankOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposeCount > 0, this);
        var encoder = await Loaded.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await encoder.ScoreDocumentsAsync(query, documents, options, cancellationToken).ConfigureAwait(false);
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(RerankerMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        return State == RerankerState.Ready ? Loaded.Result.GetService(serviceType) : null;
    }

    public Task<(RerankerState State, string Description, Exception? Error)> CheckAsync(CancellationToken cancellationToken)
    {
        var state = State;
        var result = state switch
        {
            RerankerState.Ready => (state, $"Model {_model} loaded in {Loaded.Result.LoadTime.TotalSeconds:F1} s on {Loaded.Result.ExecutionProvider}.", (Exception?)null),
            RerankerState.Failed => (state, $"Model {_model} failed to load: {Loaded.Exception?.GetBaseException().Message}", Loaded.Exception?.GetBaseException()),
            RerankerState.Loading => (state, $"Model {_model} is loading.", null),
            _ => (state, $"Model {_model} is not loaded yet; it loads when the host starts or at the first call.", null),
        };
        return Task.FromResult(result);
    }

    public void Dispose()
    {
        // Registered both as itself and under the pipeline, so the container may dispose it twice.
        if (Interlocked.Increment(ref _disposeCount) != 1) return;
        _disposed.Cancel();
        if (_load.IsValueCreated && _load.Value.IsCompletedSuccessfully) _load.Value.Result.Dispose();
        _disposed.Dispose();
    }
}
