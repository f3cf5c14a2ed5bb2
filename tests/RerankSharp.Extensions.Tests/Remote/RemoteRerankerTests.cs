using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using RerankSharp.Remote;
using RerankSharp.Scoring;
using RerankSharp.Tokenization;

namespace RerankSharp.Extensions.Tests.Remote;

public class RemoteRerankerTests(RealServerFixture server) : IClassFixture<RealServerFixture>
{
    private const string Query = "中国的首都是哪里?";

    private static readonly string[] Passages =
    [
        "北京是中国的政治中心和首都。",
        "首都机场位于北京,是中国重要交通枢纽。",
        "上海是中国最大的经济中心城市。",
        "东京是日本的首都,也是日本最大的城市。",
        "长城是中国古代修建的军事防御工程。",
    ];

    public static TheoryData<RerankApi> Peers => new(RerankApi.Tei, RerankApi.CohereV1, RerankApi.CohereV2, RerankApi.Jina, RerankApi.Vllm,
        RerankApi.Infinity, RerankApi.LlamaCpp);

    // The same code, written once against IReranker.
    private static Task<IReadOnlyList<RerankResult>> RankAsync(IReranker reranker, RerankOptions? options = null) =>
        reranker.RerankAsync(Query, Passages, options);

    private static (ServiceProvider Services, IReranker Reranker) Resilient(RemoteRerankerOptions options, Action<HttpStandardResilienceOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddRemoteReranker(options, resilience =>
        {
            resilience.Retry.Delay = TimeSpan.FromMilliseconds(10);
            resilience.Retry.UseJitter = false;
            configure?.Invoke(resilience);
        });
        var provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<IReranker>());
    }

    [Theory]
    [InlineData(RerankApi.RerankSharp)]
    [InlineData(RerankApi.Tei)]
    [InlineData(RerankApi.CohereV1)]
    [InlineData(RerankApi.CohereV2)]
    [InlineData(RerankApi.Jina)]
    public async Task Against_rerank_serve_it_gives_the_ranking_and_scores_of_a_CrossEncoder(RerankApi api)
    {
        using var client = new HttpClient();
        using IReranker remote = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = server.Address, Api = api, Model = "tiny-a" });

        var expected = await RankAsync(server.Reference);
        var actual = await RankAsync(remote);
        var expectedTop = await RankAsync(server.Reference, new RerankOptions { TopN = 2 });
        var actualTop = await RankAsync(remote, new RerankOptions { TopN = 2 });

        Assert.Equal(expected, actual);
        Assert.Equal(expectedTop, actualTop);
    }

    [Fact]
    public async Task Against_rerank_serve_raw_scores_and_truncation_settings_reach_the_engine()
    {
        using var client = new HttpClient();
        using IReranker remote = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = server.Address });
        var longPassages = Passages.Select(p => string.Concat(Enumerable.Repeat(p, 60))).ToArray();   // over tiny-a's max length
        RerankOptions[] cases =
        [
            new() { RawScores = true },
            new() { TruncationDirection = TruncationDirection.Left },
            new() { MaxDocumentTokens = 6, RawScores = true },
            new() { LongDocuments = LongDocumentMode.Chunk, ChunkStride = 3, ChunkAggregation = WindowAggregation.Mean, RawScores = true },
        ];

        foreach (var options in cases)
            Assert.Equal(await server.Reference.RerankAsync(Query, longPassages, options), await remote.RerankAsync(Query, longPassages, options));
        var refused = await Assert.ThrowsAsync<RerankException>(() => remote.RerankAsync(Query, longPassages, new RerankOptions { Truncate = false }));
        Assert.Equal(RerankErrorKind.InvalidInput, refused.Kind);
        Assert.Contains("max length", refused.Message);
    }

    [Fact]
    public async Task Against_rerank_serve_documents_beyond_its_limit_are_split_and_merged_in_order()
    {
        using var client = new HttpClient();
        using IReranker remote = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = server.Address, MaxDocumentsPerRequest = 2 });

        // Split requests batch differently from one call (an unpadded batch takes ONNX Runtime's flash attention kernel,
        // a padded one the masked kernel), so scores agree to float32 rounding rather than bit for bit.
        AssertSameRanking(await RankAsync(server.Reference), await RankAsync(remote));
        AssertSameRanking(await RankAsync(server.Reference, new() { TopN = 3 }), await RankAsync(remote, new() { TopN = 3 }));
    }

    private static void AssertSameRanking(IReadOnlyList<RerankResult> expected, IReadOnlyList<RerankResult> actual)
    {
        Assert.Equal(expected.Select(r => (r.Index, r.Document)), actual.Select(r => (r.Index, r.Document)));
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First.Score, p.Second.Score, 1e-5f));
    }

    [Theory]
    [MemberData(nameof(Peers))]
    public async Task Each_peers_reply_shape_maps_to_the_same_results(RerankApi api)
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, request) => PeerReplies.Answer(api, context, request);
        using var client = new HttpClient();
        using IReranker remote = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = stub.Address, Api = api, Model = "m", ApiKey = "k" });

        var all = await RankAsync(remote);
        var top = await RankAsync(remote, new RerankOptions { TopN = 2 });

        // llama.cpp's logits come back as sigmoid scores, so every API ranks on one scale.
        var expected = Passages.Select((p, i) => new RerankResult(i,
                (float)(api == RerankApi.LlamaCpp ? 1 / (1 + Math.Exp(-PeerReplies.Logit(p))) : PeerReplies.Score(p)), p))
            .OrderByDescending(r => r.Score).ToList();
        Assert.Equal(expected.Select(r => r.Index), all.Select(r => r.Index));
        Assert.Equal(expected.Select(r => r.Score), all.Select(r => r.Score), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(expected.Take(2).Select(r => r.Index), top.Select(r => r.Index));
        Assert.Equal(Passages[all[0].Index], all[0].Document);

        var request = stub.Posts.First();
        Assert.Equal(PeerReplies.RoutePath(api), request.Path);
        Assert.Equal("Bearer k", request.Authorization);
        Assert.Equal(Query, request.Body!["query"]!.GetValue<string>());
        Assert.Equal(api == RerankApi.Tei ? "texts" : "documents", request.Body.AsObject().Single(p => p.Value is JsonArray).Key);
        Assert.Equal(api != RerankApi.Tei, request.Body["model"] is not null);
        Assert.Null(request.Body["return_documents"]?.GetValue<bool>() is true ? "asked for documents" : null);
    }

    [Fact]
    public async Task Llama_cpp_logits_are_kept_when_raw_scores_are_asked_for()
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, request) => PeerReplies.Answer(RerankApi.LlamaCpp, context, request);
        using var client = new HttpClient();
        using IReranker remote = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = stub.Address, Api = RerankApi.LlamaCpp });

        var raw = await RankAsync(remote, new RerankOptions { RawScores = true });

        Assert.Equal(PeerReplies.Logit(Passages[raw[0].Index]), raw[0].Score, 5);
    }

    [Theory]
    [MemberData(nameof(Peers))]
    [InlineData(RerankApi.RerankSharp)]
    public async Task A_validation_error_is_reported_with_the_servers_message_and_not_retried(RerankApi api)
    {
        await using var stub = await PeerStub.StartAsync();
        var (status, body, message) = PeerReplies.ValidationError(api);
        stub.Handler = (context, _) => PeerStub.Json(context, body, status);
        var (services, remote) = Resilient(new RemoteRerankerOptions { Endpoint = stub.Address, Api = api, Model = "m" });
        await using var _ = services;

        var error = await Assert.ThrowsAsync<RerankException>(() => RankAsync(remote));

        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains(message, error.Message);
        Assert.Contains($"{status}", error.Message);
        Assert.Single(stub.Posts);
    }

    [Fact]
    public async Task A_TEI_server_capped_at_32_texts_gets_the_list_in_slices_and_the_merge_keeps_input_order()
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, request) => request.Body!["texts"]!.AsArray().Count > 32
            ? PeerStub.Json(context, PeerReplies.TeiBatchTooLarge(request.Body["texts"]!.AsArray().Count), 422)
            : PeerReplies.Answer(RerankApi.Tei, context, request);
        var documents = Enumerable.Range(0, 70).Select(i => new string('x', (i * 37) % 71)).ToArray();
        var (services, remote) = Resilient(new RemoteRerankerOptions { Endpoint = stub.Address, Api = RerankApi.Tei });
        await using var _ = services;

        var results = await remote.RerankAsync(Query, documents, new RerankOptions { TopN = 10 });

        Assert.Equal([32, 32, 6], stub.Posts.Select(p => p.Body!["texts"]!.AsArray().Count).Order().Reverse());
        var expected = documents.Select((d, i) => (Index: i, Score: (float)PeerReplies.Score(d))).OrderByDescending(x => x.Score).Take(10).Select(x => x.Index);
        Assert.Equal(expected, results.Select(r => r.Index));
        Assert.All(results, r => Assert.Equal(documents[r.Index], r.Document));
    }

    [Fact]
    public async Task Without_splitting_a_TEI_batch_refusal_says_to_lower_the_documents_per_request()
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, request) => PeerStub.Json(context, PeerReplies.TeiBatchTooLarge(request.Body!["texts"]!.AsArray().Count), 422);
        var (services, remote) = Resilient(new RemoteRerankerOptions { Endpoint = stub.Address, Api = RerankApi.Tei, MaxDocumentsPerRequest = 100 });
        await using var _ = services;

        var error = await Assert.ThrowsAsync<RerankException>(() => remote.RerankAsync(Query, Enumerable.Repeat("d", 40).ToArray()));

        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains("batch size 40 > maximum allowed batch size 32", error.Message);
        Assert.Contains("MaxDocumentsPerRequest", error.Message);
        Assert.Single(stub.Posts);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task An_overloaded_answer_with_Retry_After_is_waited_out_and_retried(int status)
    {
        await using var stub = await PeerStub.StartAsync();
        var refused = 0;
        stub.Handler = (context, request) =>
        {
            if (Interlocked.Increment(ref refused) == 1)
            {
                context.Response.Headers.RetryAfter = "1";
                return PeerStub.Json(context, new JsonObject { ["error"] = "model is overloaded", ["error_type"] = "overloaded" }, status);
            }
            return PeerReplies.Answer(RerankApi.Tei, context, request);
        };
        var (services, remote) = Resilient(new RemoteRerankerOptions { Endpoint = stub.Address, Api = RerankApi.Tei });
        await using var _ = services;
        var clock = Stopwatch.StartNew();

        var results = await RankAsync(remote);

        Assert.Equal(Passages.Length, results.Count);
        Assert.Equal(2, stub.Posts.Count());
        // The retry delay is 10 ms here, so a wait of a second is the server's Retry-After.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {clock.Elapsed.TotalSeconds:F2} s");
    }

    [Fact]
    public async Task Overload_that_outlasts_the_retries_is_reported_as_overloaded()
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, _) => PeerStub.Json(context, new JsonObject { ["error"] = "queue is full", ["error_type"] = "overloaded" }, 429);
        var (services, remote) = Resilient(new RemoteRerankerOptions { Endpoint = stub.Address }, r => r.Retry.MaxRetryAttempts = 2);
        await using var _ = services;

        var error = await Assert.ThrowsAsync<RerankException>(() => RankAsync(remote));

        Assert.Equal(RerankErrorKind.Overloaded, error.Kind);
        Assert.Contains("queue is full", error.Message);
        Assert.Equal(3, stub.Posts.Count());
    }

    [Fact]
    public async Task Cancelling_the_call_aborts_the_request_on_the_server()
    {
        await using var stub = await PeerStub.StartAsync();
        var aborted = new TaskCompletionSource();
        stub.Handler = async (context, _) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                aborted.TrySetResult();
            }
        };
        var (services, remote) = Resilient(new RemoteRerankerOptions { Endpoint = stub.Address });
        await using var _ = services;
        using var cts = new CancellationTokenSource();

        var call = remote.RerankAsync(Query, Passages, cancellationToken: cts.Token);
        while (!stub.Posts.Any()) await Task.Delay(10);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(stub.Posts);
    }

    [Fact]
    public async Task Options_a_server_cannot_honour_fail_before_any_request()
    {
        await using var stub = await PeerStub.StartAsync();
        using var client = new HttpClient();
        IReranker Remote(RerankApi api, string? model = "m") => new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = stub.Address, Api = api, Model = model });

        var raw = await Assert.ThrowsAsync<RerankException>(() => RankAsync(Remote(RerankApi.CohereV1), new RerankOptions { RawScores = true }));
        var model = await Assert.ThrowsAsync<RerankException>(() => RankAsync(Remote(RerankApi.CohereV2, model: null)));
        var cap = await Assert.ThrowsAsync<RerankException>(() => RankAsync(Remote(RerankApi.Tei), new RerankOptions { MaxDocumentTokens = 5 }));
        var direction = await Assert.ThrowsAsync<RerankException>(() => RankAsync(Remote(RerankApi.Jina), new RerankOptions { TruncationDirection = TruncationDirection.Left }));
        var chunk = await Assert.ThrowsAsync<RerankException>(() => RankAsync(Remote(RerankApi.Tei), new RerankOptions { LongDocuments = LongDocumentMode.Chunk }));
        var windows = await Assert.ThrowsAsync<RerankException>(() => RankAsync(Remote(RerankApi.RerankSharp), new RerankOptions { ReturnWindows = true }));

        Assert.Contains("raw logits", raw.Message);
        Assert.Contains("needs a model name", model.Message);
        Assert.Contains("token cap", cap.Message);
        Assert.Contains("truncates on its own terms", direction.Message);
        Assert.Contains("cannot score them in windows", chunk.Message);
        Assert.Contains("scores only", windows.Message);
        Assert.All(new[] { raw, model, cap, direction, chunk, windows }, e => Assert.Equal(RerankErrorKind.InvalidInput, e.Kind));
        Assert.Empty(stub.Requests);
    }

    [Fact]
    public async Task A_reply_in_another_shape_says_to_check_the_api_setting()
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, _) => PeerStub.Json(context, new JsonArray(new JsonObject { ["index"] = 0, ["score"] = 0.5 }));   // a TEI reply…
        using var client = new HttpClient();
        using IReranker remote = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = stub.Address, Api = RerankApi.Infinity, Path = "/rerank" });

        var error = await Assert.ThrowsAsync<RerankException>(() => RankAsync(remote));   // …called as Infinity

        Assert.True(error.Kind == RerankErrorKind.Backend, error.Message);
        Assert.Contains("RemoteRerankerOptions.Api", error.Message);
    }

    [Fact]
    public async Task Unauthorized_and_unreachable_servers_say_what_to_set()
    {
        await using var stub = await PeerStub.StartAsync();
        stub.Handler = (context, _) => PeerStub.Json(context, new JsonObject { ["error"] = "missing or invalid API key", ["error_type"] = "unauthorized" }, StatusCodes.Status401Unauthorized);
        using var client = new HttpClient();
        using IReranker refused = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = stub.Address });
        using IReranker nowhere = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = new Uri("http://127.0.0.1:1") });

        var unauthorized = await Assert.ThrowsAsync<RerankException>(() => RankAsync(refused));
        var unreachable = await Assert.ThrowsAsync<RerankException>(() => RankAsync(nowhere));

        Assert.Equal(RerankErrorKind.Unauthorized, unauthorized.Kind);
        Assert.Contains("ApiKey", unauthorized.Message);
        Assert.Equal(RerankErrorKind.Backend, unreachable.Kind);
        Assert.Contains("Cannot reach", unreachable.Message);
    }

    [Fact]
    public async Task No_documents_and_top_n_zero_make_no_request_and_metadata_names_the_server()
    {
        await using var stub = await PeerStub.StartAsync();
        using var client = new HttpClient();
        using IReranker remote = new RemoteReranker(client, new RemoteRerankerOptions { Endpoint = stub.Address, Api = RerankApi.CohereV2, Model = "rerank-v3.5" });

        Assert.Empty(await remote.RerankAsync(Query, []));
        // The library's rule (RankingInput): no documents rank to nothing, a top_n of 0 is refused before any request.
        var zero = await Assert.ThrowsAsync<RerankException>(() => remote.RerankAsync(Query, Passages, new RerankOptions { TopN = 0 }));
        Assert.Equal(RerankErrorKind.InvalidInput, zero.Kind);
        Assert.Empty(stub.Requests);
        Assert.Equal(new RerankerMetadata("cohere", stub.Address, "rerank-v3.5"), remote.GetService<RerankerMetadata>());
    }
}
