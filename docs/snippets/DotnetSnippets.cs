// The code of docs/dotnet.md. The test project compiles this file, and DocSnippetsTests checks that every snippet in
// the doc is the region of the same name here or in a sample, so the doc's code always builds.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.VectorData;
using Microsoft.SemanticKernel.Data;
using RerankSharp.Remote;
using RerankSharp.Scoring;
using RerankSharp.SemanticKernel;
using RerankSharp.VectorData;

namespace RerankSharp.Docs;

public static class DotnetSnippets
{
    public static async Task LibraryAsync(string modelPath)
    {
        #region Library
        using var encoder = await CrossEncoder.LoadAsync(modelPath);   // a folder, or a hub id such as "BAAI/bge-reranker-v2-m3"
        IReranker reranker = encoder;

        var results = await reranker.RerankAsync("中国的首都是哪里?",
            ["北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。", "上海是中国最大的经济中心城市。"],
            new RerankOptions { TopN = 2 });
        foreach (var r in results)
            Console.WriteLine($"{r.Score:F4} #{r.Index} {r.Document}");
        #endregion
    }

    public static IReranker Pipeline(CrossEncoder encoder, ILoggerFactory loggerFactory)
    {
        #region Pipeline
        IReranker reranker = encoder.AsBuilder()
            .UseLogging(loggerFactory)          // Debug: counts and timings; Trace: the texts too
            .UseOpenTelemetry()                 // spans and metrics under "RerankSharp"
            .UseScoreCache(capacity: 50_000)    // (model, settings, query, document) → score, least recently used out
            .Build();
        #endregion
        return reranker;
    }

    public static void DependencyInjection(IServiceCollection services)
    {
        #region DependencyInjection
        services.AddCrossEncoder("BAAI/bge-reranker-v2-m3", new CrossEncoderOptions { MaxLength = 1024 })
            .UseLogging()
            .UseScoreCache();
        services.AddHealthChecks().AddRerankerCheck();   // "reranker": loading / ready / failed
        #endregion
    }

    public static void RemoteDependencyInjection(IServiceCollection services)
    {
        #region RemoteDependencyInjection
        services.AddRemoteReranker(new RemoteRerankerOptions
            {
                Endpoint = new Uri("http://tei:80"),
                Api = RerankApi.Tei,            // 32 texts per request: longer lists are split and merged
            },
            resilience => resilience.Retry.MaxRetryAttempts = 5)
            .UseOpenTelemetry();
        #endregion
    }

    public static async Task RemoteAsync()
    {
        #region Remote
        using var http = new HttpClient();
        using IReranker cohere = new RemoteReranker(http, new RemoteRerankerOptions
        {
            Endpoint = new Uri("https://api.cohere.com"),
            Api = RerankApi.CohereV2,
            Model = "rerank-v3.5",
            ApiKey = Environment.GetEnvironmentVariable("COHERE_API_KEY"),
        });
        var ranked = await cohere.RerankAsync("query", ["document one", "document two"], new RerankOptions { TopN = 1 });
        #endregion
        _ = ranked;
    }

    public sealed record Chunk(string Id, string Text);

    public static async Task<IReadOnlyList<VectorSearchResult<Chunk>>> VectorDataAsync(IVectorSearchable<Chunk> collection, IReranker reranker, string question)
    {
        #region VectorData
        var top = await collection.SearchAsync(question, top: 20)               // cheap: by embedding
            .RerankAsync(reranker, question, r => r.Record.Text, topN: 5);      // exact: the cross-encoder reads each
        #endregion
        return top;
    }

    public static async Task SemanticKernelAsync(ITextSearch<Chunk> textSearch, IReranker reranker, string question)
    {
        #region SemanticKernel
        // One call's results…
        var found = await textSearch.GetTextSearchResultsAsync(question, new TextSearchOptions<Chunk> { Top = 20 });
        var best = await found.RerankAsync(reranker, question, topN: 5);

        // …or every search of a plugin: ask for 20 candidates, return the reranked Top.
        ITextSearch<Chunk> reranking = textSearch.WithReranker(reranker, candidates: 20, recordText: chunk => chunk.Text);
        #endregion
        _ = (best, reranking);
    }
}
