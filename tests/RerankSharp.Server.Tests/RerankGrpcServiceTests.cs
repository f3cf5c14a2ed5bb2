using System.Globalization;
using System.Text.Json.Nodes;
using Grpc.Core;
using RerankSharp.Scoring;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.Tests;

public class RerankGrpcServiceTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    private RunningServer Server => fixture.Server;

    private Rerank.RerankClient Client => new(Server.Channel);

    private static RerankRequest Request(string query, IEnumerable<string> texts, bool rawScores = false, bool returnText = false)
    {
        var request = new RerankRequest { Query = query, RawScores = rawScores, ReturnText = returnText };
        request.Texts.Add(texts);
        return request;
    }

    private static async Task<RerankResponse> StreamAsync(Rerank.RerankClient client, IEnumerable<RerankStreamRequest> messages, CallOptions options = default)
    {
        using var call = client.RerankStream(options);
        foreach (var message in messages) await call.RequestStream.WriteAsync(message);
        await call.RequestStream.CompleteAsync();
        return await call;
    }

    private static IEnumerable<RerankStreamRequest> Messages(string query, IEnumerable<string> texts, bool rawScores = false, bool returnText = false) =>
        texts.Select(t => new RerankStreamRequest { Query = query, Text = t, RawScores = rawScores, ReturnText = returnText });

    [Fact]
    public async Task Rerank_gives_the_ranks_scores_and_texts_of_POST_rerank()
    {
        using var call = Client.RerankAsync(Request(TestTexts.Query, TestTexts.Documents, returnText: true));
        var reply = await call;
        var (_, http) = await Server.PostAsync("/rerank", new JsonObject
        {
            ["query"] = TestTexts.Query,
            ["texts"] = new JsonArray(TestTexts.Documents.Select(d => (JsonNode)d!).ToArray()),
            ["return_text"] = true,
        });

        var expected = http!.AsArray();
        Assert.Equal(expected.Select(r => r!["index"]!.GetValue<int>()), reply.Ranks.Select(r => (int)r.Index));
        Assert.Equal(expected.Select(r => r!["score"]!.GetValue<float>()), reply.Ranks.Select(r => r.Score));
        Assert.Equal(expected.Select(r => r!["text"]!.GetValue<string>()), reply.Ranks.Select(r => r.Text));
        Assert.True(reply.Ranks.Select(r => r.Score).SequenceEqual(reply.Ranks.Select(r => r.Score).OrderDescending()), "not best first");
    }

    [Fact]
    public async Task Rerank_reports_teis_metadata_in_the_message_and_the_timing_headers()
    {
        var expected = await fixture.Reference.ScoreDocumentsAsync(TestTexts.Query, TestTexts.Documents);

        using var call = Client.RerankAsync(Request(TestTexts.Query, TestTexts.Documents));
        var reply = await call;
        var headers = await call.ResponseHeadersAsync;

        var metadata = reply.Metadata;
        Assert.Equal((uint)expected.TotalTokens, metadata.ComputeTokens);
        Assert.Equal((uint)(TestTexts.Query.Length * TestTexts.Documents.Length + TestTexts.Documents.Sum(d => d.Length)), metadata.ComputeChars);
        Assert.True(metadata.InferenceTimeNs > 0, "no inference time");
        Assert.True(metadata.TotalTimeNs >= metadata.InferenceTimeNs, $"total {metadata.TotalTimeNs} ns < inference {metadata.InferenceTimeNs} ns");
        Assert.Equal(metadata.ComputeTokens.ToString(CultureInfo.InvariantCulture), headers.GetValue("x-compute-tokens"));
        Assert.Equal(metadata.ComputeChars.ToString(CultureInfo.InvariantCulture), headers.GetValue("x-compute-characters"));
        foreach (var name in new[] { "x-compute-time", "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time" })
            Assert.True(long.TryParse(headers.GetValue(name), out _), $"{name} missing or not whole milliseconds");
    }

    [Fact]
    public async Task Rerank_gives_raw_logits_when_asked_and_leaves_the_text_out_unless_asked()
    {
        var documents = TestTexts.Generated(12, seed: 21);
        var logits = await fixture.Reference.PredictAsync(documents.Select(d => ("capital", d)).ToArray(), new RerankOptions { RawScores = true });

        var reply = await Client.RerankAsync(Request("capital", documents, rawScores: true));

        Assert.Equal(documents.Length, reply.Ranks.Count);
        Assert.All(reply.Ranks, r => Assert.Equal(logits[r.Index], r.Score, 1e-5f));
        Assert.All(reply.Ranks, r => Assert.False(r.HasText));
    }

    [Fact]
    public async Task RerankStream_gives_the_answer_of_Rerank_for_the_same_texts()
    {
        var documents = TestTexts.Generated(20, seed: 22);

        var unary = await Client.RerankAsync(Request(TestTexts.Query, documents, returnText: true));
        var streamed = await StreamAsync(Client, Messages(TestTexts.Query, documents, returnText: true));

        Assert.Equal(unary.Ranks, streamed.Ranks);
        Assert.Equal(unary.Metadata.ComputeTokens, streamed.Metadata.ComputeTokens);
        Assert.Equal(unary.Metadata.ComputeChars, streamed.Metadata.ComputeChars);
    }

    [Fact]
    public async Task RerankStream_takes_raw_scores_and_return_text_from_the_first_message_only()
    {
        var documents = TestTexts.Generated(6, seed: 23);
        var messages = Messages("river", documents).ToList();
        messages[0].ReturnText = true;
        foreach (var later in messages.Skip(1)) later.RawScores = true;
        var sigmoid = await fixture.Reference.PredictAsync(documents.Select(d => ("river", d)).ToArray());

        var reply = await StreamAsync(Client, messages);

        Assert.All(reply.Ranks, r => Assert.Equal(sigmoid[r.Index], r.Score, 1e-5f));
        Assert.All(reply.Ranks, r => Assert.Equal(documents[r.Index], r.Text));
    }

    [Fact]
    public async Task RerankStream_scores_each_message_against_its_own_query()
    {
        var documents = TestTexts.Generated(10, seed: 24);
        var queries = documents.Select((_, i) => i % 3 == 0 ? "museum" : "train").ToArray();
        var expected = await fixture.Reference.PredictAsync(documents.Select((d, i) => (queries[i], d)).ToArray());

        var reply = await StreamAsync(Client, documents.Select((d, i) => new RerankStreamRequest { Query = queries[i], Text = d }));

        Assert.Equal(Enumerable.Range(0, documents.Length), reply.Ranks.Select(r => (int)r.Index).Order());
        Assert.All(reply.Ranks, r => Assert.Equal(expected[r.Index], r.Score, 1e-5f));
        Assert.Equal(expected.OrderDescending(), reply.Ranks.Select(r => r.Score), new ToleranceComparer(1e-5f));
    }

    [Fact]
    public async Task Bad_calls_get_invalid_argument_with_a_message_that_says_what_to_send()
    {
        var emptyQuery = await Assert.ThrowsAsync<RpcException>(async () => await Client.RerankAsync(Request("", ["a"])));
        var badDirection = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.RerankAsync(new RerankRequest { Query = "q", Texts = { "a" }, TruncationDirection = (TruncationDirection)7 }));
        var emptyStream = await Assert.ThrowsAsync<RpcException>(() => StreamAsync(Client, []));
        var emptyQueryInStream = await Assert.ThrowsAsync<RpcException>(() => StreamAsync(Client,
            [new RerankStreamRequest { Query = "q", Text = "a" }, new RerankStreamRequest { Query = "", Text = "b" }]));

        Assert.All(new[] { emptyQuery, badDirection, emptyStream, emptyQueryInStream }, e => Assert.Equal(StatusCode.InvalidArgument, e.StatusCode));
        Assert.Contains("The query is empty", emptyQuery.Status.Detail);
        Assert.Contains("TRUNCATION_DIRECTION_LEFT", badDirection.Status.Detail);
        Assert.Contains("no texts", emptyStream.Status.Detail);
        Assert.Contains("The query is empty", emptyQueryInStream.Status.Detail);
        Assert.Single((await Client.RerankAsync(Request("q", ["a"]))).Ranks);
        Assert.Empty((await Client.RerankAsync(Request("q", []))).Ranks);   // no texts is a ranking of nothing (RankingInput)
    }

    [Fact]
    public async Task Limits_and_truncation_follow_the_server_settings()
    {
        await using var server = await RunningServer.StartAsync(new RerankServerOptions { MaxDocuments = 3, AutoTruncate = false, MaxBodyBytes = 15_000 }, grpc: true);
        var client = new Rerank.RerankClient(server.Channel);
        var longText = string.Join(' ', Enumerable.Repeat("population", 600));

        var tooMany = await Assert.ThrowsAsync<RpcException>(async () => await client.RerankAsync(Request("q", ["a", "b", "c", "d"])));
        var tooManyStreamed = await Assert.ThrowsAsync<RpcException>(() => StreamAsync(client, Messages("q", ["a", "b", "c", "d"])));
        var tooLong = await Assert.ThrowsAsync<RpcException>(async () => await client.RerankAsync(Request("q", [longText])));
        var tooManyBytes = await Assert.ThrowsAsync<RpcException>(() => StreamAsync(client, Messages("q", [longText, longText, longText])));
        var tooLargeMessage = await Assert.ThrowsAsync<RpcException>(async () => await client.RerankAsync(Request("q", [string.Join(' ', Enumerable.Repeat(longText, 4))])));
        var cut = await client.RerankAsync(new RerankRequest { Query = "q", Texts = { longText }, Truncate = true });
        var cutFromTheLeft = await client.RerankAsync(new RerankRequest { Query = "q", Texts = { longText + " river" }, Truncate = true, TruncationDirection = TruncationDirection.Left });

        Assert.All(new[] { tooMany, tooManyStreamed, tooLong }, e => Assert.Equal(StatusCode.InvalidArgument, e.StatusCode));
        Assert.Contains("--max-documents", tooMany.Status.Detail);
        Assert.Contains("--max-documents", tooManyStreamed.Status.Detail);
        Assert.Contains("over the max length", tooLong.Status.Detail);
        Assert.Equal(StatusCode.ResourceExhausted, tooManyBytes.StatusCode);
        Assert.Contains("--max-body-bytes", tooManyBytes.Status.Detail);
        Assert.Equal(StatusCode.ResourceExhausted, tooLargeMessage.StatusCode);
        Assert.Contains("maximum configured message size", tooLargeMessage.Status.Detail);
        Assert.Equal((uint)server.Encoder.MaxLength, cut.Metadata.ComputeTokens);
        var expectedLeft = await server.Encoder.ScoreDocumentsAsync("q", [longText + " river"],
            new RerankOptions { Truncate = true, TruncationDirection = Tokenization.TruncationDirection.Left });
        Assert.Equal(expectedLeft.Scores[0], Assert.Single(cutFromTheLeft.Ranks).Score);
    }

    [Fact]
    public async Task Methods_of_tei_that_are_not_served_answer_unimplemented()
    {
        var marshaller = Marshallers.Create((EncodeRequest m) => Google.Protobuf.MessageExtensions.ToByteArray(m), EncodeRequest.Parser.ParseFrom);
        var decode = new Method<EncodeRequest, EncodeRequest>(MethodType.Unary, "tei.v1.Tokenize", "Decode", marshaller, marshaller);
        var embed = new Method<EncodeRequest, EncodeRequest>(MethodType.Unary, "tei.v1.Embed", "Embed", marshaller, marshaller);
        var invoker = Server.Channel!.CreateCallInvoker();

        var unknownMethod = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(decode, null, default, new EncodeRequest()));
        var unknownService = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(embed, null, default, new EncodeRequest()));

        Assert.Equal(StatusCode.Unimplemented, unknownMethod.StatusCode);
        Assert.Equal(StatusCode.Unimplemented, unknownService.StatusCode);
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
