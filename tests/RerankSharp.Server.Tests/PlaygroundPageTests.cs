using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace RerankSharp.Server.Tests;

public class PlaygroundPageTests(ITestOutputHelper output)
{
    // Debian's package; .ci/run installs it when missing. Playwright drives it through its bundled node driver and
    // never downloads a browser.
    private const string Chromium = "/usr/bin/chromium";
    private const string Key = "playground-key";

    [Fact]
    public async Task The_page_is_one_self_contained_html_file_served_without_a_key()
    {
        await using var server = await RunningServer.StartAsync(new RerankServerOptions { ApiKeys = [Key] });

        var (response, html) = await server.GetAsync("/", authorize: false);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("connect-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.StartsWith("<!DOCTYPE html>", html);
        // Nothing is loaded from anywhere: no external scripts, styles, fonts or images.
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain(" src=", html);
        Assert.DoesNotContain("<link", html);
    }

    [Fact]
    public async Task Without_the_playground_GET_root_is_an_unknown_route()
    {
        await using var server = await RunningServer.StartAsync(playground: false);

        var (response, body) = await server.GetAsync("/");

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Equal("not_found", JsonNode.Parse(body)!["error_type"]!.GetValue<string>());
        Assert.DoesNotContain("playground", body);
    }

    [Fact]
    public async Task In_a_browser_the_page_ranks_as_the_api_does_with_token_counts_and_truncation_flags()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing; install Debian's chromium (apt-get install -y chromium), as .ci/run does.");
        // The screenshot (docs/playground.png is one) names the random-weight fixture it shows.
        await using var server = await RunningServer.StartAsync(new RerankServerOptions { ApiKeys = [Key], ModelName = "tiny-a (random weights)" });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 860 } });
        await page.GotoAsync(server.Address.ToString());

        // Pre-filled with the keyword-trap example of `rerank demo`.
        var example = (await page.InputValueAsync("#documents")).Split('\n');
        Assert.Equal(TestTexts.Query, await page.InputValueAsync("#query"));
        Assert.Equal(5, example.Length);

        // Without the key the server's 401 is shown.
        await RankAsync(page, "error");
        Assert.Contains("401", await page.TextContentAsync("#error"));

        await page.FillAsync("#key", Key);
        await RankAsync(page, "done");
        await AssertSameAsApi(server, page, TestTexts.Query, example, raw: false, topN: null);
        var screenshot = Path.Combine(AppContext.BaseDirectory, "playground.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");

        // Own documents, one longer than the model's max length, as raw logits.
        string[] documents = [.. TestTexts.Documents.Where(d => d.Length > 0), string.Join(' ', Enumerable.Repeat("population", 600))];
        await page.FillAsync("#query", "capital");
        await page.FillAsync("#documents", string.Join("\n", documents));
        await page.CheckAsync("#scale-raw");
        await RankAsync(page, "done");
        var shown = await AssertSameAsApi(server, page, "capital", documents, raw: true, topN: null);
        Assert.Equal([documents.Length - 1], shown.Where(r => r.Truncated).Select(r => r.Index));
        Assert.Contains("truncated", await page.Locator($"#results li[data-index='{documents.Length - 1}'] .flag").TextContentAsync());

        await page.FillAsync("#top-n", "3");
        await RankAsync(page, "done");
        Assert.Equal(3, (await AssertSameAsApi(server, page, "capital", documents, raw: true, topN: 3)).Count);
        Assert.Contains("raw logits", await page.TextContentAsync("#summary"));
    }

    private sealed record ShownResult(int Index, float Score, int Tokens, bool Truncated);

    private static async Task RankAsync(IPage page, string state)
    {
        await page.ClickAsync("#rank");
        await page.WaitForSelectorAsync($"#output[data-state='{state}']", new PageWaitForSelectorOptions { Timeout = 15000 });
    }

    // The ranked list on the page against POST /v1/rerank with the same input: order, scores, token counts, cuts.
    private static async Task<IReadOnlyList<ShownResult>> AssertSameAsApi(RunningServer server, IPage page, string query, string[] documents, bool raw, int? topN)
    {
        var rows = await page.Locator("#results li").EvaluateAllAsync<string[][]>(
            "items => items.map(i => [i.dataset.index, i.dataset.score, i.querySelector('.meta').textContent, i.querySelector('.flag') ? 'cut' : ''])");
        var shown = rows.Select(r => new ShownResult(int.Parse(r[0], CultureInfo.InvariantCulture), float.Parse(r[1], CultureInfo.InvariantCulture),
            int.Parse(r[2].Split(" · ")[1].Split(' ')[0], CultureInfo.InvariantCulture), r[3] == "cut")).ToList();

        var body = new JsonObject
        {
            ["query"] = query,
            ["documents"] = new JsonArray(documents.Select(d => (JsonNode)d!).ToArray()),
            ["raw_scores"] = raw,
            ["return_tokens"] = true,
        };
        if (topN is not null) body["top_n"] = topN;
        var (response, reply) = await server.PostAsync("/v1/rerank", body);
        Assert.Equal(200, (int)response.StatusCode);
        var expected = reply!["results"]!.AsArray().Select(r => new ShownResult(r!["index"]!.GetValue<int>(), r["relevance_score"]!.GetValue<float>(),
            r["tokens"]!.GetValue<int>(), r["truncated"]?.GetValue<bool>() ?? false)).ToList();

        Assert.Equal(expected, shown);
        var texts = await page.Locator("#results li .document").EvaluateAllAsync<string[]>("items => items.map(i => i.firstChild.textContent)");
        Assert.Equal(shown.Select(r => documents[r.Index]), texts);
        return shown;
    }
}
