using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RerankSharp.Inference;
using RerankSharp.Models;
using RerankSharp.Scoring;
using RerankSharp.Server;
using RerankSharp.Server.Models;

namespace RerankSharp.Cli.Commands;

/// <summary>
/// <c>rerank serve</c>: loads the model once and answers TEI, Jina and Cohere rerank requests over HTTP (TEI's gRPC
/// too with <c>--grpc-port</c>) until Ctrl+C / SIGTERM, then finishes the requests in flight. Every flag has a
/// <c>RERANK_…</c> variable.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "IP address to listen on: 127.0.0.1 (this machine), 0.0.0.0 (all IPv4), :: (all IPv6). Env: RERANK_HOST.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_HOST") ?? "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "TCP port; 0 picks a free one. Env: RERANK_PORT.", DefaultValueFactory = _ => CommonOptions.EnvInt("RERANK_PORT") ?? 8080 };
        var modelName = new Option<string?>("--served-model-name") { Description = "Model name in responses (default: the --model value, or the folder's name). Env: RERANK_SERVED_MODEL_NAME.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_SERVED_MODEL_NAME") };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body in bytes (413 beyond). Env: RERANK_MAX_BODY_BYTES.", DefaultValueFactory = _ => CommonOptions.EnvLong("RERANK_MAX_BODY_BYTES") ?? 16 * 1024 * 1024 };
        var maxDocuments = new Option<int>("--max-documents") { Description = "Most documents per request (413 beyond); they are batched internally. Env: RERANK_MAX_DOCUMENTS.", DefaultValueFactory = _ => CommonOptions.EnvInt("RERANK_MAX_DOCUMENTS") ?? 1000 };
        var maxConcurrent = new Option<int>("--max-concurrent-requests") { Description = "Scoring requests handled at once (429 beyond). Env: RERANK_MAX_CONCURRENT_REQUESTS.", DefaultValueFactory = _ => CommonOptions.EnvInt("RERANK_MAX_CONCURRENT_REQUESTS") ?? 512 };
        var maxQueuedTokens = new Option<long>("--max-queued-tokens") { Description = "Most tokens waiting for inference; beyond it requests get 429 with Retry-After. Env: RERANK_MAX_QUEUED_TOKENS.", DefaultValueFactory = _ => CommonOptions.EnvLong("RERANK_MAX_QUEUED_TOKENS") ?? 4_000_000 };
        var autoTruncate = new Option<bool>("--auto-truncate") { Description = "Cut pairs over --max-length when a request does not say (default true; false: such requests get 400). Env: RERANK_AUTO_TRUNCATE.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_AUTO_TRUNCATE") is not ("0" or "false") };
        var minScore = new Option<float?>("--min-score") { Description = "Drop results scoring below this unless a request sets min_score. Env: RERANK_MIN_SCORE.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_MIN_SCORE") is { } v ? float.Parse(v, CultureInfo.InvariantCulture) : null };
        var apiKeys = new Option<string[]>("--api-key") { Description = "Require 'Authorization: Bearer KEY'; repeat for several keys. Env: RERANK_API_KEY (comma-separated).", DefaultValueFactory = _ => CommonOptions.Env("RERANK_API_KEY")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [], AllowMultipleArgumentsPerToken = false };
        var openHealth = new Option<bool>("--open-health") { Description = "Answer GET /health without a key. Env: RERANK_OPEN_HEALTH=1.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_OPEN_HEALTH") is "1" or "true" };
        var openMetrics = new Option<bool>("--open-metrics") { Description = "Answer GET /metrics without a key. Env: RERANK_OPEN_METRICS=1.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_OPEN_METRICS") is "1" or "true" };
        var grpcPort = new Option<int?>("--grpc-port") { Description = "Also serve TEI's gRPC API (tei.v1 Rerank, Info, Tokenize; cleartext HTTP/2) on this port; 0 picks a free one. Env: RERANK_GRPC_PORT.", DefaultValueFactory = _ => CommonOptions.EnvInt("RERANK_GRPC_PORT") };
        var noPlayground = new Option<bool>("--no-playground") { Description = "Do not serve the browser playground at GET /. Env: RERANK_NO_PLAYGROUND=1.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_NO_PLAYGROUND") is "1" or "true" };
        var shutdown = new Option<int>("--shutdown-timeout") { Description = "Seconds a stopping server (SIGTERM) has to drain: in-flight requests finish, new ones get 503; keep it under Kubernetes' terminationGracePeriodSeconds. Env: RERANK_SHUTDOWN_TIMEOUT.", DefaultValueFactory = _ => CommonOptions.EnvInt("RERANK_SHUTDOWN_TIMEOUT") ?? 30 };
        var modelsFile = new Option<string?>("--models-file") { Description = "Serve the models listed in this JSON or YAML file (name, model, and per-model precision, max_length, instruction, long_documents…; docs/server.md), after any --model. Env: RERANK_MODELS_FILE.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_MODELS_FILE") };
        var maxMemory = new Option<string?>("--max-memory") { Description = "Keep the models in memory within this size (e.g. 4GB), counted by their weight files: models load on first use and the least recently used are unloaded to make room. Default: no budget, every model loaded at start. Env: RERANK_MAX_MEMORY.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_MAX_MEMORY") };
        var otlpEndpoint = new Option<string?>("--otlp-endpoint") { Description = "Also send the server's metrics (the instruments /metrics shows) by OTLP to this OpenTelemetry collector, e.g. http://127.0.0.1:4317; OTEL_EXPORTER_OTLP_PROTOCOL (grpc, http/protobuf), OTEL_METRIC_EXPORT_INTERVAL and OTEL_SERVICE_NAME apply. Env: OTEL_EXPORTER_OTLP_ENDPOINT.", DefaultValueFactory = _ => CommonOptions.Env("OTEL_EXPORTER_OTLP_ENDPOINT") };
        var drainDelay = new Option<double>("--drain-delay") { Description = "Seconds a stopping server keeps listening at least, answering 503 (and /health 503), so a load balancer's readiness probe takes it out first; set it to the probe's period. Env: RERANK_DRAIN_DELAY.", DefaultValueFactory = _ => CommonOptions.Env("RERANK_DRAIN_DELAY") is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : 0 };

        var command = new Command("serve", "Serve TEI (/rerank), Jina and Cohere (/v1/rerank, /v2/rerank) rerank APIs over HTTP, with /metrics and a browser playground at /; TEI's gRPC API with --grpc-port.")
        {
            host, port, modelName, maxBody, maxDocuments, maxConcurrent, maxQueuedTokens, autoTruncate, minScore, apiKeys, openHealth, openMetrics, grpcPort, noPlayground, shutdown, drainDelay,
            modelsFile, maxMemory, otlpEndpoint,
        };
        // The defaults for requests that do not set long_documents, chunk_stride, chunk_aggregation.
        LongDocumentOptions.AddTo(command);
        command.SetAction((result, ct) => Cli.Run(result, async () =>
        {
            var values = CommonOptions.Models(result);
            var file = result.GetValue(modelsFile);
            var budget = result.GetValue(maxMemory);
            var encoderOptions = CommonOptions.EncoderOptions(result) with
            {
                MaxQueuedTokens = result.GetValue(maxQueuedTokens),
                // A server lives long enough to repay the ~5 s prepacking costs at load many times over (fp32 runs
                // up to 7% faster with it at the default batching, docs/benchmarks.md); one-shot commands skip it for a fast start.
                PrepackWeights = result.GetValue(CommonOptions.Prepack) ?? true,
            };
            var serverOptions = new RerankServerOptions
            {
                MaxBodyBytes = result.GetValue(maxBody),
                MaxDocuments = result.GetValue(maxDocuments),
                MaxConcurrentRequests = result.GetValue(maxConcurrent),
                AutoTruncate = result.GetValue(autoTruncate),
                MinScore = result.GetValue(minScore),
                ApiKeys = result.GetValue(apiKeys) ?? [],
                OpenHealth = result.GetValue(openHealth),
                OpenMetrics = result.GetValue(openMetrics),
                DrainDelay = TimeSpan.FromSeconds(result.GetValue(drainDelay)),
            };
            var longDocuments = LongDocumentOptions.Apply(result, new RerankOptions());
            serverOptions.LongDocuments = longDocuments.LongDocuments;
            serverOptions.ChunkStride = longDocuments.ChunkStride;
            serverOptions.ChunkAggregation = longDocuments.ChunkAggregation;
            var collector = result.GetValue(otlpEndpoint) is { } endpoint ? OtlpMetrics.Endpoint(endpoint) : null;
            var hostOptions = new RerankHostOptions(result.GetValue(host)!, result.GetValue(port), TimeSpan.FromSeconds(result.GetValue(shutdown)),
                result.GetValue(CommonOptions.Verbose) ? LogLevel.Information : LogLevel.Warning, result.GetValue(grpcPort), !result.GetValue(noPlayground))
            {
                ConfigureServices = collector is null ? null : services => OtlpMetrics.AddTo(services, collector),
            };

            if (values.Count > 1 || file is not null || budget is not null || values[0].Contains('=', StringComparison.Ordinal) && !Directory.Exists(values[0]))
                return await ServeManyAsync(result, values, file, budget, encoderOptions, serverOptions, hostOptions, result.GetValue(modelName), shutdown, ct);

            // One model given as PATH_OR_HUB_ID: loaded before listening, exactly as rerank serve has always done.
            var model = values[0];
            // Disposed after the server has stopped, so in-flight requests finish on a live encoder.
            using var encoder = await CrossEncoder.LoadAsync(model, encoderOptions, ct);
            // One pair through the session before listening: /health, the readiness probe of a container, then answers
            // only once the model has run, and the first request does not pay ONNX Runtime's first-run costs.
            await encoder.PredictAsync([("warm-up", "warm-up")], cancellationToken: ct);
            serverOptions.ModelName = result.GetValue(modelName) ?? ServedModels.NameOf(model);
            await using var app = RerankServerApplication.Create(encoder, serverOptions, hostOptions);
            return await RunAsync(app, hostOptions, address => $"{serverOptions.ModelName} on {address} (max length {encoder.MaxLength}, {encoder.ExecutionProvider}, loaded in {encoder.LoadTime.TotalSeconds:F1} s)",
                result.GetValue(shutdown), ct);
        }));
        return command;
    }

    // Several models (repeated --model, NAME=…, a models file or a memory budget): a registry routed by the model field.
    private static async Task<int> ServeManyAsync(ParseResult result, IReadOnlyList<string> values, string? file, string? budget,
        CrossEncoderOptions encoderOptions, RerankServerOptions serverOptions, RerankHostOptions hostOptions, string? servedName, Option<int> shutdown, CancellationToken ct)
    {
        var explicitModels = result.GetResult(CommonOptions.Model) is { Tokens.Count: > 0 } || CommonOptions.Env("RERANK_MODEL") is not null;
        var specs = (file is null || explicitModels ? values.Select(ServedModels.Parse) : []).ToList();
        long? maxMemory = budget is null ? null : ServedModels.ParseBytes(budget, "--max-memory");
        if (file is not null)
        {
            var (fileModels, fileMemory) = ServedModels.ReadFile(file);
            specs.AddRange(fileModels);
            maxMemory ??= fileMemory;
        }
        if (servedName is not null)
        {
            if (specs.Count > 1)
                throw new RerankException(RerankErrorKind.InvalidInput, "--served-model-name names one model; with several, name each as --model NAME=PATH_OR_HUB_ID or \"name\" in the models file.");
            specs[0] = specs[0] with { Name = servedName };
        }
        // Several sessions share the cores through one pool, their batches admitted in turn (SharedThreadPool); it must
        // exist before the first session does.
        if (specs.Count > 1) SharedThreadPool.Enable(encoderOptions.Threads);
        var logger = CommonOptions.Logger(result);
        using var models = await ServedModels.BuildAsync(specs, encoderOptions, maxMemory,
            async (source, token) =>
            {
                await using var progress = new DownloadProgressView();
                return await HubDownload.ResolveModelDirectoryAsync(source, progress: progress, cancellationToken: token);
            }, logger, ct);
        // Without a budget every model is loaded before listening, as one model is; with one, only the default is,
        // and the others on first use.
        if (maxMemory is null) await models.PreloadAsync(ct);
        else await models.PreloadAsync(models.Default, ct);
        foreach (var failed in models.Models.Where(m => m.State == ServedModelState.Failed))
            Console.Error.WriteLine($"rerank: model {failed.Name} failed to load: {failed.Error}");
        if (models.Models.All(m => m.State == ServedModelState.Failed))
            throw new RerankException(RerankErrorKind.ModelNotFound, "No model could be loaded; see the lines above for each one's reason.");
        serverOptions.ModelName = models.Default.Name;
        await using var app = RerankServerApplication.Create(models, serverOptions, hostOptions);
        var names = string.Join(", ", models.Models.Where(m => m.State != ServedModelState.Failed).Select(m => m.Name));
        var memory = maxMemory is { } bytes ? $"within {bytes / (1024.0 * 1024):F0} MiB, loaded on first use" : "all loaded";
        var threads = SharedThreadPool.Enabled ? $", one pool of {SharedThreadPool.Threads} threads, {SharedThreadPool.BatchesAtOnce} batches at once" : "";
        return await RunAsync(app, hostOptions, address => $"{names} on {address} ({memory}{threads}; default {models.Default.Name})", result.GetValue(shutdown), ct);
    }

    private static async Task<int> RunAsync(WebApplication app, RerankHostOptions hostOptions, Func<string, string> serving, int shutdownSeconds, CancellationToken ct)
    {
        await app.StartAsync(CancellationToken.None);
        foreach (var address in RerankServerApplication.ListeningAddresses(app))
            Console.Error.WriteLine($"rerank: serving {serving(address)}");
        if (RerankServerApplication.GrpcAddress(app) is { } grpcAddress)
            Console.Error.WriteLine($"rerank: gRPC (tei.v1 Rerank, Info, Tokenize) on {grpcAddress}");
        if (hostOptions.Playground)
            foreach (var address in RerankServerApplication.ListeningAddresses(app))
                Console.Error.WriteLine($"rerank: playground at {address}/");
        // Ctrl+C / SIGTERM reach the host's lifetime; the command's token is another way to stop. One line when the
        // drain starts and one when it ends, so an operator sees a stop being handled and what it cost.
        using var stop = ct.Register(() => app.Lifetime.StopApplication());
        static string Requests(int n) => n == 1 ? "1 request" : $"{n} requests";
        using var stopping = app.Lifetime.ApplicationStopping.Register(() => Console.Error.WriteLine(
            $"rerank: stopping: {Requests(RerankServerApplication.InFlightRequests(app))} in flight to finish, new ones get 503 (at most {shutdownSeconds} s)"));
        await app.WaitForShutdownAsync(CancellationToken.None);
        if (RerankServerApplication.DrainReport(app) is { } drained)
            Console.Error.WriteLine(drained.Cut == 0
                ? $"rerank: stopped after {drained.Duration.TotalSeconds:F1} s; {Requests(drained.InFlightAtStart)} in flight finished"
                : $"rerank: stopped after {drained.Duration.TotalSeconds:F1} s; {drained.Cut} of {Requests(drained.InFlightAtStart)} in flight cut by --shutdown-timeout");
        return 0;
    }
}
