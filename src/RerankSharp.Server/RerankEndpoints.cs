using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.Extensions.Hosting;
using Prometheus;
using RerankSharp.Scoring;
using RerankSharp.Server.Contracts;
using RerankSharp.Server.Models;
using RerankSharp.Tokenization;

namespace RerankSharp.Server;

/// <summary>
/// The routes every RAG tool calls (DESIGN.md §5): TEI's <c>/rerank</c>, <c>/tokenize</c>, <c>/info</c>,
/// <c>/health</c>; Jina and Cohere v1 <c>/v1/rerank</c>; Cohere v2 <c>/v2/rerank</c>; Prometheus <c>/metrics</c>;
/// and the OpenAPI document at <c>/openapi.json</c>. Call <c>services.AddRerankServer(encoder, ...)</c> first.
/// </summary>
public static class RerankEndpoints
{
    private static readonly string Version =
        typeof(RerankEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static IEndpointRouteBuilder MapRerankEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var routes = endpoints.MapGroup("").AddEndpointFilter<RerankEndpointFilter>().WithTags("rerank");

        routes.MapPost("/rerank", RerankTeiOrJina).WithName("rerank")
            .WithSummary("TEI rerank: {query, texts} → [{index, score, text?}] best first. A Jina body ({query, documents}) is answered in Jina's shape, as llama.cpp does.")
            .AcceptsJson<TeiRerankRequest>().Produces<TeiRank[]>().WithErrors();
        routes.MapPost("/v1/rerank", (HttpContext c, RankingService r, RerankServerOptions o) => RerankCohere(c, r, o, apiVersion: 1))
            .WithName("rerank_v1").WithSummary("Jina / Cohere v1 rerank: {query, documents, top_n?, return_documents?} → {id, model, results, usage, meta}.")
            .AcceptsJson<RerankRequest>().Produces<RerankResponse>().WithErrors();
        routes.MapPost("/v2/rerank", (HttpContext c, RankingService r, RerankServerOptions o) => RerankCohere(c, r, o, apiVersion: 2))
            .WithName("rerank_v2").WithSummary("Cohere v2 rerank: {model, query, documents, top_n?, max_tokens_per_doc?} → {id, results, meta}.")
            .AcceptsJson<RerankRequest>().Produces<RerankResponse>().WithErrors();
        routes.MapPost("/tokenize", Tokenize).WithName("tokenize")
            .WithSummary("TEI tokenize: {inputs: string | [string], add_special_tokens?} → [[{id, text, special, start, stop}]].")
            .AcceptsJson<TeiTokenizeRequest>().Produces<TeiToken[][]>().WithErrors();
        routes.MapGet("/info", Info).WithName("info").WithSummary("TEI info: the model (?model=NAME, default the first) and this server's limits.").Produces<TeiInfo>()
            .Produces<ErrorResponse>(StatusCodes.Status404NotFound);
        routes.MapGet("/health", Health).WithName("health").WithSummary("200 while serving; 503 from the moment it starts shutting down (while it drains). ?model=NAME: that model's health (503 if its load failed).")
            .Produces(StatusCodes.Status200OK).Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable).Produces<ErrorResponse>(StatusCodes.Status404NotFound);
        routes.MapGet("/v1/models", ListModels).WithName("models").WithSummary("The served models, in the list shape of OpenAI-compatible servers (vLLM, Infinity).")
            .Produces<ModelList>();
        routes.MapGet("/v1/models/{**name}", GetModel).WithName("model").WithSummary("One served model, by name or hub id.")
            .Produces<ModelCard>().Produces<ErrorResponse>(StatusCodes.Status404NotFound);
        routes.MapGet("/metrics", Metrics).WithName("metrics").WithSummary("Prometheus text exposition.").Produces<string>(contentType: "text/plain");
        endpoints.MapOpenApi("/openapi.json");
        return endpoints;
    }

    // The body is read by JsonRequestBody, not bound, so the request schema is added to the document by hand.
    // (Accepts<T>() would do it too, but its content-type metadata makes routing answer a wrong Content-Type with
    // an empty 415 before the handler can say what to send.)
    private static RouteHandlerBuilder AcceptsJson<T>(this RouteHandlerBuilder route) =>
        route.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        });

    private static RouteHandlerBuilder WithErrors(this RouteHandlerBuilder route) => route
        .Produces<ErrorResponse>(StatusCodes.Status400BadRequest)
        .Produces<ErrorResponse>(StatusCodes.Status401Unauthorized)
        .Produces<ErrorResponse>(StatusCodes.Status413PayloadTooLarge)
        .Produces<ErrorResponse>(StatusCodes.Status415UnsupportedMediaType)
        .Produces<ErrorResponse>(StatusCodes.Status429TooManyRequests);

    internal static async Task<IResult> RerankTeiOrJina(HttpContext context, RankingService ranking, RerankServerOptions options)
    {
        using var body = await JsonRequestBody.ReadAsync(context, options);
        var fields = new JsonFields(body.Root);
        var tei = fields.Has("texts");
        if (tei == fields.Has("documents"))
            throw HttpError.Invalid(tei
                ? "Send either `texts` (TEI) or `documents` (Jina/Cohere), not both."
                : "`texts` is missing; send {\"query\": ..., \"texts\": [...]} (TEI) or {\"query\": ..., \"documents\": [...]} (Jina/Cohere).");
        if (!tei) return await RankCohere(context, ranking, options, fields, apiVersion: 1);

        var query = new RankQuery(fields.RequiredString("query"), fields.Documents("texts", options.MaxDocuments, allowObjects: false))
        {
            Truncate = fields.OptionalBool("truncate"),
            Direction = Direction(fields.OptionalString("truncation_direction")),
            RawScores = fields.OptionalBool("raw_scores") ?? false,
            TopN = fields.OptionalInt("top_n"),
            MinScore = fields.OptionalNumber("min_score"),
            Instruction = fields.OptionalString("instruction"),
        }.WithLongDocuments(fields);
        var returnText = fields.OptionalBool("return_text") ?? false;
        var returnTokens = fields.OptionalBool("return_tokens") ?? false;
        var ranked = await ranking.RankAsync(context, query);
        var reply = ranked.Results.Select(r => new TeiRank(r.Index, r.Score, returnText ? query.Documents[r.Index] : null, r.Truncated ? true : null,
            returnTokens ? ranked.Scores.Tokens[r.Index] : null, RerankWindow.Of(r.Window))).ToArray();
        return TypedResults.Json(reply, RerankJson.Options);
    }

    internal static async Task<IResult> RerankCohere(HttpContext context, RankingService ranking, RerankServerOptions options, int apiVersion)
    {
        using var body = await JsonRequestBody.ReadAsync(context, options);
        return await RankCohere(context, ranking, options, new JsonFields(body.Root), apiVersion);
    }

    private static async Task<IResult> RankCohere(HttpContext context, RankingService ranking, RerankServerOptions options, JsonFields fields, int apiVersion)
    {
        var model = fields.OptionalString("model");
        // An unknown model is refused before the documents are read.
        ranking.Resolve(model);
        var rankFields = fields.OptionalStringList("rank_fields");
        var query = new RankQuery(fields.RequiredString("query"), fields.Documents("documents", options.MaxDocuments, allowObjects: true, rankFields))
        {
            Model = model,
            TopN = fields.OptionalInt("top_n"),
            MaxDocumentTokens = fields.OptionalPositiveInt("max_tokens_per_doc"),
            Truncate = fields.OptionalBool("truncate"),
            Direction = Direction(fields.OptionalString("truncation_direction")),
            RawScores = fields.OptionalBool("raw_scores") ?? false,
            MinScore = fields.OptionalNumber("min_score"),
            Instruction = fields.OptionalString("instruction"),
        }.WithLongDocuments(fields);
        var returnDocuments = fields.OptionalBool("return_documents") ?? false;
        var returnTokens = fields.OptionalBool("return_tokens") ?? false;
        var ranked = await ranking.RankAsync(context, query);

        var results = ranked.Results.Select(r => new RerankResultItem(r.Index, r.Score,
            returnDocuments ? new RerankDocument(query.Documents[r.Index]) : null, r.Truncated ? true : null,
            returnTokens ? ranked.Scores.Tokens[r.Index] : null, RerankWindow.Of(r.Window))).ToArray();
        // Cohere bills one search unit per query over up to 100 documents.
        var billed = new RerankBilledUnits((query.Documents.Count + 99) / 100);
        var reply = apiVersion == 1
            ? new RerankResponse(Guid.NewGuid().ToString(), results, new RerankMeta(new RerankApiVersion("1"), billed),
                model ?? ranked.Model, new RerankUsage(ranked.Scores.TotalTokens))
            : new RerankResponse(Guid.NewGuid().ToString(), results, new RerankMeta(new RerankApiVersion("2", IsExperimental: false), billed));
        return TypedResults.Json(reply, RerankJson.Options);
    }

    // The long-document extension fields, the same on every rerank route.
    private static RankQuery WithLongDocuments(this RankQuery query, JsonFields fields) => query with
    {
        LongDocuments = fields.OptionalEnum<LongDocumentMode>("long_documents"),
        ChunkStride = fields.OptionalNonNegativeInt("chunk_stride"),
        ChunkAggregation = fields.OptionalEnum<WindowAggregation>("chunk_aggregation"),
        ReturnWindows = fields.OptionalBool("return_windows") ?? false,
    };

    private static TruncationDirection Direction(string? value) => value?.ToLowerInvariant() switch
    {
        null or "right" => TruncationDirection.Right,
        "left" => TruncationDirection.Left,
        _ => throw HttpError.Invalid($"`truncation_direction` must be \"left\" or \"right\"; got \"{value}\"."),
    };

    internal static async Task<IResult> Tokenize(HttpContext context, RankingService ranking, RerankModelRegistry models, RerankServerOptions options)
    {
        using var body = await JsonRequestBody.ReadAsync(context, options);
        var fields = new JsonFields(body.Root);
        var model = ranking.Resolve(fields.OptionalString("model"));
        IReadOnlyList<string> inputs = body.Root.TryGetProperty("inputs", out var value) && value.ValueKind == JsonValueKind.String
            ? [fields.RequiredString("inputs")]
            : fields.Documents("inputs", options.MaxDocuments, allowObjects: false);
        var special = fields.OptionalBool("add_special_tokens") ?? true;
        using var lease = await models.AcquireAsync(model, context.RequestAborted);
        var tokenizer = TokenizerOf(lease);
        var reply = inputs.Select(text => Tokens(tokenizer, text, special)).ToArray();
        return TypedResults.Json(reply, RerankJson.Options);
    }

    /// <summary>The tokenizer of an in-process model; a remote one has none here to tokenize with.</summary>
    internal static PairTokenizer TokenizerOf(ModelLease lease) => lease.Reranker.GetService<PairTokenizer>()
        ?? throw HttpError.Invalid($"Model \"{lease.Model.Name}\" does not run in this process, so this server cannot tokenize for it; ask the server that runs it.");

    /// <summary>The tokens of one text as <c>/tokenize</c> and gRPC <c>Tokenize</c> report them.</summary>
    internal static TeiToken[] Tokens(PairTokenizer tokenizer, string text, bool addSpecialTokens)
    {
        var ids = tokenizer.EncodeText(text);
        if (addSpecialTokens) ids = tokenizer.WithSpecialTokens(ids);
        var pieces = tokenizer.ToPieces(ids);
        return ids.Select((id, i) => new TeiToken(id, pieces[i], tokenizer.IsSpecial(id), null, null)).ToArray();
    }

    private static async Task<IResult> Info(HttpContext context, RankingService ranking, RerankModelRegistry models, RerankServerOptions options, string? model = null) =>
        TypedResults.Json(await DescribeServerAsync(ranking.Resolve(model), models, options, context.RequestAborted), RerankJson.Options);

    /// <summary>
    /// What <c>GET /info</c> and gRPC <c>Info</c> report of <paramref name="model"/>: its limits as of its last load
    /// (a model not loaded yet is loaded to learn them); a reranker that runs elsewhere reports the server's limits only.
    /// </summary>
    internal static async Task<TeiInfo> DescribeServerAsync(ServedModel model, RerankModelRegistry models, RerankServerOptions options, CancellationToken cancellationToken)
    {
        if (model.Limits is null && model.Unloadable && model.State != ServedModelState.Failed)
        {
            using var lease = await models.AcquireAsync(model, cancellationToken);
        }
        var limits = model.Limits;
        return new(
            ModelId: model.Name,
            ModelSha: null,
            ModelDtype: limits?.Dtype ?? "float32",
            ModelType: new TeiModelType(new TeiClassifierModel(new Dictionary<string, string> { ["0"] = "LABEL_0" }, new Dictionary<string, int> { ["LABEL_0"] = 0 })),
            MaxConcurrentRequests: options.MaxConcurrentRequests,
            MaxInputLength: limits?.MaxLength ?? 0,
            MaxBatchTokens: limits?.MaxBatchTokens ?? 0,
            MaxBatchRequests: null,
            MaxClientBatchSize: options.MaxDocuments,
            AutoTruncate: options.AutoTruncate,
            // Requests tokenize on their own thread-pool threads.
            TokenizationWorkers: Environment.ProcessorCount,
            Version: Version,
            MaxBatchSize: limits?.BatchSize ?? 0,
            MaxQueuedTokens: limits?.MaxQueuedTokens ?? 0,
            MaxBodyBytes: options.MaxBodyBytes,
            ExecutionProvider: limits?.ExecutionProvider ?? "remote");
    }

    private static IResult Health(IHostApplicationLifetime lifetime, ShutdownDrain drain, RankingService ranking, RerankModelRegistry models, string? model = null)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested || drain.IsDraining)
            return ErrorResponses.Error(StatusCodes.Status503ServiceUnavailable, ErrorTypes.Unhealthy, "The server is shutting down.");
        if (model is not null)
        {
            var served = ranking.Resolve(model);
            return served.State == ServedModelState.Failed
                ? ErrorResponses.Error(StatusCodes.Status503ServiceUnavailable, ErrorTypes.Unhealthy, $"Model \"{served.Name}\" failed to load: {served.Error}")
                : TypedResults.Ok();
        }
        // The server is healthy while one model can answer; a model whose load failed is reported by /v1/models and
        // by its own /health?model=NAME, and must not take the others out of a load balancer.
        return models.Models.All(m => m.State == ServedModelState.Failed)
            ? ErrorResponses.Error(StatusCodes.Status503ServiceUnavailable, ErrorTypes.Unhealthy,
                "Every model failed to load: " + string.Join("; ", models.Models.Select(m => $"{m.Name}: {m.Error}")))
            : TypedResults.Ok();
    }

    private static IResult ListModels(RerankModelRegistry models)
    {
        var all = models.Models;
        return TypedResults.Json(new ModelList(all.Select((m, i) => ModelCard.Of(m, isDefault: i == 0)).ToArray()), RerankJson.Options);
    }

    private static IResult GetModel(RankingService ranking, RerankModelRegistry models, string name)
    {
        var model = ranking.Resolve(name);
        return TypedResults.Json(ModelCard.Of(model, isDefault: model == models.Default), RerankJson.Options);
    }

    private static IResult Metrics(RerankMetrics metrics) =>
        TypedResults.Stream(stream => metrics.Registry.CollectAndExportAsTextAsync(stream), "text/plain; version=0.0.4; charset=utf-8");
}
