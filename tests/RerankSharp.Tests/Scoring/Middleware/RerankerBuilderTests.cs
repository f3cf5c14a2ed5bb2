using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

public class RerankerBuilderTests
{
    private sealed class Tagging(IReranker inner, string tag, List<string> log) : DelegatingReranker(inner)
    {
        public override async Task<IReadOnlyList<RerankResult>> RerankAsync(string query, IReadOnlyList<string> documents,
            RerankOptions? options = null, CancellationToken cancellationToken = default)
        {
            log.Add($"{tag} in");
            var results = await base.RerankAsync(query, documents, options, cancellationToken);
            log.Add($"{tag} out");
            return results;
        }
    }

    [Fact]
    public async Task The_first_middleware_added_is_the_outermost()
    {
        var log = new List<string>();
        var reranker = new FakeReranker().AsBuilder()
            .Use(inner => new Tagging(inner, "a", log))
            .Use(inner => new Tagging(inner, "b", log))
            .Build();

        await reranker.RerankAsync("q", ["x"]);

        Assert.Equal(["a in", "b in", "b out", "a out"], log);
    }

    [Fact]
    public void Middleware_factories_get_the_services_the_pipeline_is_built_with()
    {
        var services = new DictionaryServices { [typeof(string)] = "from services" };
        string? seen = null;

        new FakeReranker().AsBuilder().Use((inner, sp) =>
        {
            seen = (string?)sp.GetService(typeof(string));
            return inner;
        }).Build(services);

        Assert.Equal("from services", seen);
    }

    [Fact]
    public void Get_service_finds_the_inner_reranker_and_its_metadata_through_the_chain()
    {
        var fake = new FakeReranker();
        var reranker = fake.AsBuilder().UseOpenTelemetry().UseScoreCache(10).Build();

        Assert.Same(fake, reranker.GetService<FakeReranker>());
        Assert.Equal("fake-model", reranker.GetService<RerankerMetadata>()!.ModelId);
        Assert.IsType<OpenTelemetryReranker>(reranker.GetService<OpenTelemetryReranker>());
        Assert.Null(reranker.GetService<FakeReranker>(serviceKey: "keyed"));
    }

    [Fact]
    public void Disposing_the_outermost_reranker_disposes_the_inner_one()
    {
        var fake = new FakeReranker();
        var reranker = fake.AsBuilder().UseScoreCache(10).ConfigureOptions(o => o).Build();

        reranker.Dispose();

        Assert.True(fake.Disposed);
    }

    [Fact]
    public void A_factory_returning_null_is_reported_at_build()
    {
        var builder = new FakeReranker().AsBuilder().Use(_ => null!);

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("returned null", error.Message);
    }

    [Fact]
    public async Task Configure_options_rewrites_every_call_including_calls_without_options()
    {
        var fake = new FakeReranker();
        var reranker = fake.AsBuilder().ConfigureOptions(o => o with { RawScores = true }).Build();

        await reranker.RerankAsync("q", ["x"]);
        await reranker.RerankAsync("q", ["x"], new RerankOptions { TopN = 1 });

        Assert.All(fake.Calls, c => Assert.True(c.Options!.RawScores));
        Assert.Equal(1, fake.Calls[1].Options!.TopN);
    }

    private sealed class DictionaryServices : Dictionary<Type, object>, IServiceProvider
    {
        public object? GetService(Type serviceType) => TryGetValue(serviceType, out var service) ? service : null;
    }
}
