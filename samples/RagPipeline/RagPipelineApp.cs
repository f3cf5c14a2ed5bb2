using Microsoft.Extensions.VectorData;
using RerankSharp.Scoring;
using RerankSharp.VectorData;

namespace RagPipeline;

/// <summary>
/// <c>dotnet run --project samples/RagPipeline [-- MODEL]</c>: retrieve the passages nearest the question from a vector
/// store, rerank them with a cross-encoder, keep the top k for the prompt. The seed's RAG example: retrieval by shared
/// characters keeps the airport passage among the candidates (it shares "首都", "北京" and "中国" with the question and
/// does not answer it); the reranker reads query and passage together, and with the real bge-reranker-v2-m3 puts
/// "北京是中国的政治中心和首都。" first.
/// </summary>
public static class RagPipelineApp
{
    public const string Query = "中国的首都是哪里?";

    public static readonly Passage[] Passages =
    [
        new(1, "北京是中国的政治中心和首都。"),
        new(2, "首都机场位于北京,是中国重要交通枢纽。"),
        new(3, "上海是中国最大的经济中心城市。"),
        new(4, "东京是日本的首都,也是日本最大的城市。"),
        new(5, "长城是中国古代修建的军事防御工程。"),
    ];

    /// <summary>Candidates retrieved from the store.</summary>
    public const int Candidates = 4;

    /// <summary>Passages kept for the prompt.</summary>
    public const int TopK = 2;

    public static async Task<int> Main(string[] args)
    {
        var model = args.FirstOrDefault() ?? "BAAI/bge-reranker-v2-m3";
        using var encoder = await CrossEncoder.LoadAsync(model);
        await RunAsync(new CharacterBigramIndex(Passages), encoder, Console.Out);
        return 0;
    }

    public static async Task<IReadOnlyList<VectorSearchResult<Passage>>> RunAsync(IVectorSearchable<Passage> store, IReranker reranker,
        TextWriter output, CancellationToken cancellationToken = default)
    {
        #region Pipeline
        var retrieved = new List<VectorSearchResult<Passage>>();
        await foreach (var result in store.SearchAsync(Query, Candidates, cancellationToken: cancellationToken))
            retrieved.Add(result);

        var top = await retrieved.RerankAsync(reranker, Query, r => r.Record.Text, topN: TopK, cancellationToken: cancellationToken);
        #endregion

        output.WriteLine($"query: {Query}");
        output.WriteLine($"retrieved (vector search, top {Candidates}):");
        foreach (var r in retrieved) output.WriteLine($"  {r.Score:F4}  [{r.Record.Id}] {r.Record.Text}");
        output.WriteLine($"reranked (cross-encoder, top {TopK}):");
        foreach (var r in top) output.WriteLine($"  {r.Score:F4}  [{r.Record.Id}] {r.Record.Text}");
        return top;
    }
}
