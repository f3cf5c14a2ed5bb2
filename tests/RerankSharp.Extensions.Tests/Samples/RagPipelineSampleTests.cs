using RagPipeline;
using RerankSharp.Extensions.Tests.Remote;
using RerankSharp.Scoring;

namespace RerankSharp.Extensions.Tests.Samples;

public class RagPipelineSampleTests
{
    [Fact]
    public async Task Retrieve_rerank_top_k_keeps_the_cross_encoders_best_of_the_retrieved_passages()
    {
        using var encoder = await CrossEncoder.LoadAsync(RealServerFixture.ModelPath);
        var store = new CharacterBigramIndex(RagPipelineApp.Passages);
        var output = new StringWriter();

        var top = await RagPipelineApp.RunAsync(store, encoder, output);

        var retrieved = new List<Passage>();
        await foreach (var r in store.SearchAsync(RagPipelineApp.Query, RagPipelineApp.Candidates)) retrieved.Add(r.Record);
        var expected = await encoder.RerankAsync(RagPipelineApp.Query, retrieved.Select(p => p.Text).ToList(), new RerankOptions { TopN = RagPipelineApp.TopK });
        Assert.Equal(RagPipelineApp.Candidates, retrieved.Count);
        Assert.Equal(expected.Select(r => (retrieved[r.Index], (double?)r.Score)), top.Select(r => (r.Record, r.Score)));
        Assert.Contains("reranked (cross-encoder, top 2):", output.ToString());
        Assert.Contains(RagPipelineApp.Passages[1].Text, retrieved.Select(p => p.Text));   // the keyword trap is among the candidates
    }
}
