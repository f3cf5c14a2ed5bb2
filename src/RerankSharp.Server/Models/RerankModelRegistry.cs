using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RerankSharp.Scoring;

namespace RerankSharp.Server.Models;

/// <summary>Where a served model stands.</summary>
public enum ServedModelState
{
    /// <summary>Not in memory: loaded on its first request (lazy, or unloaded to stay within the memory budget).</summary>
    Unloaded,
    /// <summary>Being loaded; requests wait for it.</summary>
    Loading,
    /// <summary>In memory and serving.</summary>
    Ready,
    /// <summary>Its load failed (<see cref="ServedModel.Error"/> says why); the other models keep serving.</summary>
    Failed,
}

/// <summary>
/// A served model's own defaults for requests that do not set them (from the models file); null fields take the
/// server's (<see cref="RerankServerOptions"/>).
/// </summary>
public sealed record ServedModelDefaults
{
    /// <summary>The task instruction of an instruction-following reranker (Qwen3-Reranker).</summary>
    public string? Instruction { get; init; }

    /// <summary>Cut or chunk documents longer than the max length.</summary>
    public LongDocumentMode? LongDocuments { get; init; }

    /// <summary>Tokens consecutive windows share when chunking.</summary>
    public int? ChunkStride { get; init; }

    /// <summary>How window scores combine when chunking.</summary>
    public WindowAggregation? ChunkAggregation { get; init; }
}

/// <summary>One model a server serves, by name.</summary>
public sealed class ServedModel
{
    private readonly Func<CancellationToken, Task<IReranker>>? _load;
    internal IReranker? Reranker;
    internal Task<IReranker>? Loading;
    internal int Users;
    internal long LastUsed;

    internal ServedModel(string name, IReadOnlyList<string> aliases, long memoryBytes, Func<CancellationToken, Task<IReranker>>? load, IReranker? reranker, bool owned)
    {
        Name = name;
        Aliases = aliases;
        MemoryBytes = memoryBytes;
        _load = load;
        Reranker = reranker;
        Owned = owned;
        State = reranker is null ? ServedModelState.Unloaded : ServedModelState.Ready;
    }

    /// <summary>The name requests use in their <c>model</c> field, and the one responses and <c>/v1/models</c> report.</summary>
    public string Name { get; }

    /// <summary>Other names that reach it: the hub id or folder it was loaded from.</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>What it is counted as against the memory budget (its weight files), in bytes; 0 for a reranker the registry did not load.</summary>
    public long MemoryBytes { get; }

    /// <summary>Where it stands now.</summary>
    public ServedModelState State { get; internal set; }

    /// <summary>Why its last load failed; null unless <see cref="State"/> is <see cref="ServedModelState.Failed"/>.</summary>
    public string? Error { get; internal set; }

    /// <summary>Times it has been loaded (1 for a model loaded once and never unloaded).</summary>
    public int Loads { get; internal set; }

    /// <summary>Times it has been unloaded to make room for another.</summary>
    public int Unloads { get; internal set; }

    /// <summary>The registry can unload and reload it: it was given as a load function, not as a reranker.</summary>
    public bool Unloadable => _load is not null;

    internal bool Owned { get; }

    internal Task<IReranker> StartLoad(CancellationToken cancellationToken) => _load!(cancellationToken);

    /// <summary>Its limits as of its last load (null before the first, or for a reranker that runs elsewhere), for <c>/info</c> while it is unloaded.</summary>
    public RerankerLimits? Limits { get; internal set; }

    /// <summary>Its defaults for requests that do not set them.</summary>
    public ServedModelDefaults Defaults { get; internal init; } = new();

    /// <summary>The reranker now in memory, or null (not loaded, or failed).</summary>
    public IReranker? Current => Reranker;
}

/// <summary>A model in use by one request: keeps it from being unloaded until disposed.</summary>
internal sealed class ModelLease(RerankModelRegistry registry, ServedModel model, IReranker reranker) : IDisposable
{
    private int _released;

    public ServedModel Model { get; } = model;

    public IReranker Reranker { get; } = reranker;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) registry.Release(Model);
    }
}

/// <summary>
/// The models a server serves, by name: the reranker each request's <c>model</c> field picks, the default (the first)
/// for requests and routes that name none, and, with a memory budget, which models are in memory. Models given as a
/// load function are loaded on first use (or all by <see cref="PreloadAsync(CancellationToken)"/>); when loading one would take the
/// models in memory over <see cref="MaxMemoryBytes"/>, the least recently used idle ones are unloaded first. A model
/// in use by a request is never unloaded under it. A failed load is recorded on its model and reported to its
/// requests; the other models are not affected.
/// </summary>
public sealed class RerankModelRegistry : IDisposable
{
    private readonly List<ServedModel> _models = [];
    private readonly Dictionary<string, ServedModel> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly object _gate = new();
    // One load at a time: two loads racing for the same room would both fit on paper and overshoot together.
    private readonly SemaphoreSlim _loads = new(1, 1);
    private readonly ILogger _logger;
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _peakLoadedBytes;
    private long _uses;   // under _gate

    /// <param name="maxMemoryBytes">The budget the models in memory are kept within (by <see cref="ServedModel.MemoryBytes"/>); null = no budget.</param>
    /// <param name="logger">Loads, unloads and failures.</param>
    public RerankModelRegistry(long? maxMemoryBytes = null, ILogger? logger = null)
    {
        if (maxMemoryBytes is < 1) throw new ArgumentOutOfRangeException(nameof(maxMemoryBytes), maxMemoryBytes, "The memory budget must be positive, or null for none.");
        MaxMemoryBytes = maxMemoryBytes;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The memory budget, or null.</summary>
    public long? MaxMemoryBytes { get; }

    /// <summary>The models in the order they were added; the first is the default.</summary>
    public IReadOnlyList<ServedModel> Models
    {
        get { lock (_gate) return _models.ToList(); }
    }

    /// <summary>The model of requests that name none, and of TEI's <c>/rerank</c> and gRPC, which have no <c>model</c> field.</summary>
    public ServedModel Default => Models.FirstOrDefault() ?? throw new InvalidOperationException("The registry has no models; add one before serving.");

    /// <summary>Bytes (by <see cref="ServedModel.MemoryBytes"/>) of the models in memory now.</summary>
    public long LoadedBytes
    {
        get { lock (_gate) return _models.Where(m => m.Reranker is not null || m.Loading is not null).Sum(m => m.MemoryBytes); }
    }

    /// <summary>The most <see cref="LoadedBytes"/> has been since the registry was made.</summary>
    public long PeakLoadedBytes => Interlocked.Read(ref _peakLoadedBytes);

    /// <summary>Raised after a model is loaded (or when a ready reranker is added), with its reranker; for metrics.</summary>
    public event Action<ServedModel, IReranker>? ModelLoaded;

    /// <summary>Raised before a model's reranker is disposed, when it is unloaded or the registry is disposed.</summary>
    public event Action<ServedModel, IReranker>? ModelUnloading;

    /// <summary>
    /// Serves <paramref name="reranker"/> (in-process, remote or wrapped in middleware) as <paramref name="name"/>. It is
    /// never unloaded; <paramref name="owned"/> says whether disposing the registry disposes it.
    /// </summary>
    public RerankModelRegistry Add(string name, IReranker reranker, IEnumerable<string>? aliases = null, bool owned = false, ServedModelDefaults? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(reranker);
        var model = Register(new ServedModel(CheckName(name), aliases?.ToList() ?? [], 0, null, reranker, owned) { Defaults = defaults ?? new() });
        model.Loads = 1;
        model.Limits = reranker.GetService<RerankerLimits>();
        ModelLoaded?.Invoke(model, reranker);
        return this;
    }

    /// <summary>
    /// Serves the reranker <paramref name="load"/> makes as <paramref name="name"/>, loaded on first use (or by
    /// <see cref="PreloadAsync(CancellationToken)"/>), counted as <paramref name="memoryBytes"/> against the budget, and disposed when unloaded.
    /// </summary>
    public RerankModelRegistry Add(string name, Func<CancellationToken, Task<IReranker>> load, long memoryBytes, IEnumerable<string>? aliases = null,
        ServedModelDefaults? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(load);
        ArgumentOutOfRangeException.ThrowIfNegative(memoryBytes);
        Register(new ServedModel(CheckName(name), aliases?.ToList() ?? [], memoryBytes, load, null, owned: true) { Defaults = defaults ?? new() });
        return this;
    }

    private static string CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new RerankException(RerankErrorKind.InvalidInput, "A served model needs a name; give NAME=PATH_OR_HUB_ID or a \"name\" in the models file.");
        return name;
    }

    private ServedModel Register(ServedModel model)
    {
        lock (_gate)
        {
            foreach (var key in model.Aliases.Prepend(model.Name))
                if (_byName.TryGetValue(key, out var other) && other != model)
                    throw new RerankException(RerankErrorKind.InvalidInput,
                        $"Two served models answer to \"{key}\" ({other.Name} and {model.Name}); give each model a name of its own.");
            _models.Add(model);
            _byName[model.Name] = model;
            // An alias never hides another model's name.
            foreach (var alias in model.Aliases) _byName.TryAdd(alias, model);
        }
        return model;
    }

    /// <summary>
    /// The model <paramref name="name"/> picks: by name or alias, case-insensitively; null or empty picks the default.
    /// With a single model every name picks it, as a one-model server has always echoed the name and served its model.
    /// Null when several are served and none has that name.
    /// </summary>
    public ServedModel? Find(string? name)
    {
        lock (_gate)
        {
            if (_models.Count == 0) return null;
            if (string.IsNullOrEmpty(name) || _models.Count == 1) return _models[0];
            return _byName.GetValueOrDefault(name);
        }
    }

    /// <summary>Loads every model given as a load function, in order, within the budget; failures are recorded, not thrown.</summary>
    public async Task PreloadAsync(CancellationToken cancellationToken = default)
    {
        // A failure is recorded on the model and logged; its requests get 503 with the reason.
        foreach (var model in Models.Where(m => m.Unloadable))
            await PreloadAsync(model, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads <paramref name="model"/> now (within the budget); false when its load failed (recorded on it).</summary>
    public async Task<bool> PreloadAsync(ServedModel model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            using var lease = await AcquireAsync(model, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RerankException) when (model.State == ServedModelState.Failed)
        {
            return false;
        }
    }

    /// <summary>The model's reranker for one request, loading it first if needed; dispose the lease when the request is done.</summary>
    internal async Task<ModelLease> AcquireAsync(ServedModel model, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<IReranker>? loading;
            lock (_gate)
            {
                if (model.Reranker is { } ready)
                {
                    model.Users++;
                    // A use counter, not a clock: two uses within one tick must still be ordered.
                    model.LastUsed = ++_uses;
                    return new ModelLease(this, model, ready);
                }
                if (model.State == ServedModelState.Failed && !model.Unloadable)
                    throw Failed(model);
                loading = model.Loading;
            }
            if (loading is not null)
            {
                // Another request is loading it; its outcome is ours (the loop then takes a lease).
                try { await loading.WaitAsync(cancellationToken).ConfigureAwait(false); }
                catch (Exception) when (!cancellationToken.IsCancellationRequested) { throw Failed(model); }
                continue;
            }
            await LoadAsync(model, cancellationToken).ConfigureAwait(false);
        }
    }

    private RerankException Failed(ServedModel model) =>
        new(RerankErrorKind.ModelNotFound, $"Model \"{model.Name}\" failed to load: {model.Error} The other models keep serving; fix it and restart the server.");

    private async Task LoadAsync(ServedModel model, CancellationToken cancellationToken)
    {
        await _loads.WaitAsync(cancellationToken).ConfigureAwait(false);
        TaskCompletionSource<IReranker>? load = null;
        try
        {
            lock (_gate)
            {
                if (model.Reranker is not null || model.Loading is not null) return;   // loaded or being loaded meanwhile
                if (model.State == ServedModelState.Failed && model.Error is not null && model.Loads == 0 && model.Unloads == 0)
                    throw Failed(model);   // a model that never loaded is not retried on every request
            }
            await MakeRoomAsync(model, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                load = new TaskCompletionSource<IReranker>(TaskCreationOptions.RunContinuationsAsynchronously);
                model.Loading = load.Task;
                model.State = ServedModelState.Loading;
                Interlocked.Exchange(ref _peakLoadedBytes, Math.Max(_peakLoadedBytes, LoadedBytesLocked()));
            }
            _logger.LogInformation("Loading model {Model}.", model.Name);
            IReranker reranker;
            try
            {
                // Not cancelled with the request: other requests may be waiting for the same load.
                reranker = await model.StartLoad(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    model.Loading = null;
                    model.State = ServedModelState.Failed;
                    model.Error = e.Message;
                }
                _logger.LogError("Model {Model} failed to load: {Reason}", model.Name, e.Message);
                load.SetException(e);
                _ = load.Task.Exception;   // observed: waiting requests report the model's Error instead
                throw Failed(model);
            }
            lock (_gate)
            {
                model.Reranker = reranker;
                model.Loading = null;
                model.State = ServedModelState.Ready;
                model.Error = null;
                model.Loads++;
                model.Limits = reranker.GetService<RerankerLimits>();
            }
            ModelLoaded?.Invoke(model, reranker);
            load.SetResult(reranker);
        }
        finally
        {
            _loads.Release();
        }
    }

    // Unloads least recently used idle models until `model` fits the budget; waits for requests to finish when every
    // model that would have to go is in use. A model larger than the whole budget loads alone.
    private async Task MakeRoomAsync(ServedModel model, CancellationToken cancellationToken)
    {
        if (MaxMemoryBytes is not { } budget) return;
        while (true)
        {
            ServedModel? victim;
            IReranker? reranker;
            Task released;
            lock (_gate)
            {
                var loaded = LoadedBytesLocked();
                if (loaded + model.MemoryBytes <= budget || loaded == 0) return;
                victim = _models.Where(m => m.Unloadable && m.Reranker is not null && m.Users == 0).MinBy(m => m.LastUsed);
                released = _released.Task;
                reranker = victim?.Reranker;
                if (victim is not null)
                {
                    victim.Reranker = null;
                    victim.State = ServedModelState.Unloaded;
                    victim.Unloads++;
                }
            }
            if (victim is null)
            {
                await released.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            _logger.LogInformation("Unloading model {Model} to make room for {Next} within the memory budget.", victim.Name, model.Name);
            ModelUnloading?.Invoke(victim, reranker!);
            reranker!.Dispose();
        }
    }

    private long LoadedBytesLocked() => _models.Where(m => m.Reranker is not null || m.Loading is not null).Sum(m => m.MemoryBytes);

    internal void Release(ServedModel model)
    {
        TaskCompletionSource released;
        lock (_gate)
        {
            model.Users--;
            released = _released;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        released.TrySetResult();
    }

    /// <summary>Disposes the rerankers it loaded, and those added as owned.</summary>
    public void Dispose()
    {
        List<(ServedModel Model, IReranker Reranker)> loaded;
        lock (_gate)
            loaded = _models.Where(m => m.Reranker is not null && m.Owned).Select(m => (m, m.Reranker!)).ToList();
        foreach (var (model, reranker) in loaded)
        {
            ModelUnloading?.Invoke(model, reranker);
            reranker.Dispose();
        }
        _loads.Dispose();
    }
}
