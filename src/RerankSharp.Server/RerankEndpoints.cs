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
        routes.MapGet("/info", Info).WithName("info").WithSummary("TEI info: the model and this server's limits.").Produces<TeiInfo>();
        routes.MapGet("/health", Health).WithName("health").WithSummary("200 while serving; 503 from the moment it starts shutting down (while it drains).")
            .Produces(StatusCodes.Status200OK).Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable);
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
        var rankFields = fields.OptionalStringList("rank_fields");
        var query = new RankQuery(fields.RequiredString("query"), fields.Documents("documents", options.MaxDocuments, allowObjects: true, rankFields))
        {
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
                model ?? options.ModelName, new RerankUsage(ranked.Scores.TotalTokens))
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

    internal static async Task<IResult> Tokenize(HttpContext context, CrossEncoder encoder, RerankServerOptions options)
    {
        using var body = await JsonRequestBody.ReadAsync(context, options);
        var fields = new JsonFields(body.Root);
        IReadOnlyList<string> inputs = body.Root.TryGetProperty("inputs", out var value) && value.ValueKind == JsonValueKind.String
            ? [fields.RequiredString("inputs")]
            : fields.Documents("inputs", options.MaxDocuments, allowObjects: false);
        var special = fields.OptionalBool("add_special_tokens") ?? true;
        var reply = inputs.Select(text => Tokens(encoder.Tokenizer, text, special)).ToArray();
        return TypedResults.Json(reply, RerankJson.Options);
    }

    /// <summary>The tokens of one text as <c>/tokenize</c> and gRPC <c>Tokenize</c> report them.</summary>
    internal static TeiToken[] Tokens(PairTokenizer tokenizer, string text, bool addSpecialTokens)
    {
        var ids = tokenizer.EncodeText(text);
        if (addSpecialTokens) ids = tokenizer.WithSpecialTokens(ids);
        var pieces = tokenizer.ToPieces(ids);
        return ids.Select((id, i) => new TeiToken(id, pieces[i], tokenizer.IsSpecial(id), null, null)).ToArray();
    }

    private static IResult Info(CrossEncoder encoder, RerankServerOptions options) => TypedResults.Json(DescribeServer(encoder, options), RerankJson.Options);

    /// <summary>What <c>GET /info</c> and gRPC <c>Info</c> report.</summary>
    internal static TeiInfo DescribeServer(CrossEncoder encoder, RerankServerOptions options) => new(
        ModelId: options.ModelName,
        ModelSha: null,
        ModelDtype: encoder.Folder.Config.TorchDtype ?? "float32",
        ModelType: new TeiModelType(new TeiClassifierModel(new Dictionary<string, string> { ["0"] = "LABEL_0" }, new Dictionary<string, int> { ["LABEL_0"] = 0 })),
        MaxConcurrentRequests: options.MaxConcurrentRequests,
        MaxInputLength: encoder.MaxLength,
        MaxBatchTokens: encoder.MaxBatchTokens,
        MaxBatchRequests: null,
        MaxClientBatchSize: options.MaxDocuments,
        AutoTruncate: options.AutoTruncate,
        // Requests tokenize on their own thread-pool threads.
        TokenizationWorkers: Environment.ProcessorCount,
        Version: Version,
        MaxBatchSize: encoder.BatchSize,
        MaxQueuedTokens: encoder.QueueStatistics.MaxQueuedTokens,
        MaxBodyBytes: options.MaxBodyBytes,
        ExecutionProvider: encoder.ExecutionProvider);

    private static IResult Health(IHostApplicationLifetime lifetime, ShutdownDrain drain) =>
        lifetime.ApplicationStopping.IsCancellationRequested || drain.IsDraining
            ? ErrorResponses.Error(StatusCodes.Status503ServiceUnavailable, ErrorTypes.Unhealthy, "The server is shutting down.")
            : TypedResults.Ok();

    private static IResult Metrics(RerankMetrics metrics) =>
        TypedResults.Stream(stream => metrics.Registry.CollectAndExportAsTextAsync(stream), "text/plain; version=0.0.4; charset=utf-8");
}
