using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RerankSharp.Server;

namespace RerankSharp.Server.Tests;

/// <summary>A server with an API key, fed malformed and abusive requests: each gets the right 4xx, and the server keeps answering.</summary>
public sealed class BadInputFixture : IAsyncLifetime
{
    public const string Key = "test-key-0123456789";
    internal RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(new RerankServerOptions { ApiKeys = [Key] });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public class BadInputTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>
{
    private sealed record Case(string Path, byte[] Body, int Status, string ErrorType, string MessagePart)
    {
        public string? ContentType { get; init; } = "application/json";
        public string? Authorization { get; init; } = "Bearer " + BadInputFixture.Key;
        public bool ExpectContinue { get; init; }
        public bool Chunked { get; init; }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Tei(string rest) => Utf8("{\"query\": \"q\", " + rest + "}");

    private static byte[] Bytes(params object[] parts) => parts.SelectMany(p => p switch { string s => Encoding.UTF8.GetBytes(s), byte[] b => b, _ => throw new ArgumentException() }).ToArray();

    private static readonly Dictionary<string, Func<Case>> Cases = new()
    {
        ["not JSON"] = () => new("/rerank", Utf8("{oops"), 400, "validation", "not valid JSON"),
        ["empty body"] = () => new("/rerank", [], 400, "validation", "empty"),
        ["JSON array at the root"] = () => new("/rerank", Utf8("[1, 2]"), 400, "validation", "must be a JSON object"),
        ["JSON string at the root"] = () => new("/v1/rerank", Utf8("\"rerank this\""), 400, "validation", "must be a JSON object"),
        ["query missing"] = () => new("/rerank", Utf8("{\"texts\": [\"a\"]}"), 400, "validation", "`query` is missing"),
        ["query null"] = () => new("/rerank", Utf8("{\"query\": null, \"texts\": [\"a\"]}"), 400, "validation", "`query` must be a string; got null"),
        ["query a number"] = () => new("/v1/rerank", Utf8("{\"query\": 42, \"documents\": [\"a\"]}"), 400, "validation", "`query` must be a string; got a number"),
        ["query empty"] = () => new("/v2/rerank", Utf8("{\"model\": \"m\", \"query\": \"\", \"documents\": [\"a\"]}"), 400, "validation", "The query is empty"),
        ["query only whitespace"] = () => new("/rerank", Utf8("{\"query\": \" \\n\", \"texts\": [\"a\"]}"), 400, "validation", "The query is only whitespace"),
        ["neither texts nor documents"] = () => new("/rerank", Tei("\"text\": [\"a\"]"), 400, "validation", "`texts` is missing"),
        ["texts null"] = () => new("/rerank", Tei("\"texts\": null"), 400, "validation", "`texts` is missing"),
        ["texts a string"] = () => new("/rerank", Tei("\"texts\": \"a\""), 400, "validation", "`texts` must be a list"),
        ["null where a text belongs"] = () => new("/rerank", Tei("\"texts\": [\"a\", null]"), 400, "validation", "`texts[1]` must be a string; got null"),
        ["number where a text belongs"] = () => new("/rerank", Tei("\"texts\": [1]"), 400, "validation", "`texts[0]` must be a string"),
        ["object where a TEI text belongs"] = () => new("/rerank", Tei("\"texts\": [{\"text\": \"a\"}]"), 400, "validation", "`texts[0]` must be a string"),
        ["both texts and documents"] = () => new("/rerank", Tei("\"texts\": [\"a\"], \"documents\": [\"a\"]"), 400, "validation", "not both"),
        ["documents null"] = () => new("/v2/rerank", Utf8("{\"model\": \"m\", \"query\": \"q\", \"documents\": null}"), 400, "validation", "must be a list"),
        ["document object without text"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [{\"title\": \"x\"}]}"), 400, "validation", "without a string `text`"),
        ["document text null"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [{\"text\": null}]}"), 400, "validation", "without a string `text`"),
        ["rank_fields not a list"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"a\"], \"rank_fields\": \"title\"}"), 400, "validation", "`rank_fields` must be a list"),
        ["top_n zero"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"a\"], \"top_n\": 0}"), 400, "validation", "top_n must be at least 1 (or unset to keep every document); got 0"),
        ["top_n negative"] = () => new("/v2/rerank", Utf8("{\"model\": \"m\", \"query\": \"q\", \"documents\": [\"a\"], \"top_n\": -3}"), 400, "validation", "got -3"),
        ["top_n fractional"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"a\"], \"top_n\": 2.5}"), 400, "validation", "got 2.5"),
        ["top_n a string"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"a\"], \"top_n\": \"3\"}"), 400, "validation", "got a string"),
        ["top_n beyond any number"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"a\"], \"top_n\": 1e400}"), 400, "validation", "`top_n`"),
        ["max_tokens_per_doc zero"] = () => new("/v2/rerank", Utf8("{\"model\": \"m\", \"query\": \"q\", \"documents\": [\"a\"], \"max_tokens_per_doc\": 0}"), 400, "validation", "`max_tokens_per_doc`"),
        ["raw_scores a string"] = () => new("/rerank", Tei("\"texts\": [\"a\"], \"raw_scores\": \"yes\""), 400, "validation", "true or false"),
        ["truncation_direction unknown"] = () => new("/rerank", Tei("\"texts\": [\"a\"], \"truncation_direction\": \"up\""), 400, "validation", "\"left\" or \"right\""),
        ["min_score a string"] = () => new("/rerank", Tei("\"texts\": [\"a\"], \"min_score\": \"high\""), 400, "validation", "`min_score` must be a number"),
        ["NaN literal"] = () => new("/rerank", Tei("\"texts\": [\"a\"], \"min_score\": NaN"), 400, "validation", "not valid JSON"),
        ["over-long pair without truncation"] = () => new("/rerank", Tei("\"texts\": [\"" + string.Join(' ', Enumerable.Repeat("mountain river", 400)) + "\"], \"truncate\": false"), 400, "validation", "max length of 512"),
        ["tokenize inputs a number"] = () => new("/tokenize", Utf8("{\"inputs\": 7}"), 400, "validation", "`inputs` must be a list"),
        ["10,001 documents"] = () => new("/rerank", Tei("\"texts\": [" + string.Join(',', Enumerable.Repeat("\"doc\"", 10_001)) + "]"), 413, "too_large", "10001 documents"),
        ["50 MB body"] = () => new("/rerank", Tei("\"texts\": [\"" + new string('a', 50 * 1024 * 1024) + "\"]"), 413, "too_large", "limit"),
        ["50 MB body announced with Expect: 100-continue"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"" + new string('a', 50 * 1024 * 1024) + "\"]}"), 413, "too_large", "limit") { ExpectContinue = true },
        ["50 MB chunked body (no Content-Length)"] = () => new("/rerank", Tei("\"texts\": [\"" + new string('a', 50 * 1024 * 1024) + "\"]"), 413, "too_large", "body is over the limit") { Chunked = true },
        ["deeply nested JSON"] = () => new("/rerank", Utf8(new string('[', 100_000) + new string(']', 100_000)), 400, "validation", "depth"),
        ["deeply nested inside a field"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": " + new string('[', 40) + new string(']', 40) + "}"), 400, "validation", "depth"),
        ["invalid UTF-8 in a document"] = () => new("/rerank", Bytes("{\"query\": \"q\", \"texts\": [\"ok\", \"bad ", new byte[] { 0xC3, 0x28 }, "\"]}"), 400, "validation", "UTF-8"),
        ["invalid UTF-8 in the query"] = () => new("/v1/rerank", Bytes("{\"query\": \"", new byte[] { 0xFF, 0xFE }, "\", \"documents\": [\"a\"]}"), 400, "validation", "UTF-8"),
        ["a key escaping a lone surrogate (found by fuzzing)"] = () => new("/rerank", Utf8("{\"query\": \"q\", \"docum\\ud800ents\": [\"a\"], \"texts\": [\"b\"]}"), 400, "validation", "lone UTF-16 surrogate"),
        ["a document escaping a lone surrogate"] = () => new("/v2/rerank", Utf8("{\"model\": \"m\", \"query\": \"q\", \"documents\": [\"\\udc00\"]}"), 400, "validation", "lone UTF-16 surrogate"),
        ["invalid UTF-8 in a rank field that is not a string"] = () => new("/v1/rerank", Bytes("{\"query\": \"q\", \"rank_fields\": [\"a\"], \"documents\": [{\"a\": {\"x\": \"", new byte[] { 0xFF }, "\"}}]}"), 400, "validation", "UTF-8"),
        ["wrong content type"] = () => new("/rerank", Tei("\"texts\": [\"a\"]"), 415, "unsupported_media_type", "application/json") { ContentType = "text/plain" },
        ["form content type (curl -d without -H)"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"a\"]}"), 415, "unsupported_media_type", "application/json") { ContentType = "application/x-www-form-urlencoded" },
        ["JSON in another charset"] = () => new("/rerank", Tei("\"texts\": [\"a\"]"), 415, "unsupported_media_type", "UTF-8") { ContentType = "application/json; charset=iso-8859-1" },
        ["missing auth"] = () => new("/rerank", Tei("\"texts\": [\"a\"]"), 401, "unauthorized", "needs an API key") { Authorization = null },
        ["wrong key"] = () => new("/v1/rerank", Utf8("{\"query\": \"q\", \"documents\": [\"a\"]}"), 401, "unauthorized", "not valid") { Authorization = "Bearer test-key-0123456788" },
        ["key without the Bearer scheme"] = () => new("/v2/rerank", Utf8("{\"model\": \"m\", \"query\": \"q\", \"documents\": [\"a\"]}"), 401, "unauthorized", "not valid") { Authorization = BadInputFixture.Key },
        ["Basic auth"] = () => new("/tokenize", Utf8("{\"inputs\": \"a\"}"), 401, "unauthorized", "not valid") { Authorization = "Basic dGVzdDprZXk=" },
        ["metrics without a key"] = () => new("/metrics", [], 401, "unauthorized", "needs an API key") { Authorization = null, ContentType = null },
    };

    public static IEnumerable<object[]> Names => Cases.Keys.Select(k => new object[] { k });

    [Fact]
    public void The_suite_has_at_least_30_cases() => Assert.True(Cases.Count >= 30, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Gets_the_right_4xx_with_a_message_and_the_server_keeps_answering(string name)
    {
        var server = fixture.Server;
        var c = Cases[name]();
        using var request = new HttpRequestMessage(c.Body.Length == 0 && c.Path == "/metrics" ? HttpMethod.Get : HttpMethod.Post, c.Path);
        if (request.Method == HttpMethod.Post)
        {
            // A stream of unknown length is sent chunked.
            request.Content = c.Chunked ? new StreamContent(new UnseekableStream(c.Body)) : new ByteArrayContent(c.Body);
            if (c.ContentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(c.ContentType);
        }
        if (c.Authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", c.Authorization);
        if (c.ExpectContinue) request.Headers.ExpectContinue = true;

        using var response = await server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(c.Status == (int)response.StatusCode, $"{name}: expected {c.Status}, got {(int)response.StatusCode} {text}");
        var error = JsonNode.Parse(text)!;
        Assert.Equal(["error", "error_type"], error.AsObject().Select(p => p.Key));
        Assert.Equal(c.ErrorType, error["error_type"]!.GetValue<string>());
        Assert.Contains(c.MessagePart, error["error"]!.GetValue<string>());
        if (c.Status == 401) Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);

        var (health, _) = await server.GetAsync("/health");
        Assert.Equal(200, (int)health.StatusCode);
        var (ok, _) = await server.PostAsync("/rerank", new JsonObject { ["query"] = "q", ["texts"] = new JsonArray("a") });
        Assert.Equal(200, (int)ok.StatusCode);
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
