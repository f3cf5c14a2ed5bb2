using HostedReranker;
using RerankSharp.Extensions.Tests.Remote;
using RerankSharp.Scoring;

namespace RerankSharp.Extensions.Tests.Samples;

public class HostedRerankerSampleTests
{
    [Fact]
    public async Task The_generic_host_sample_starts_reports_healthy_and_ranks_from_its_appsettings()
    {
        var output = new StringWriter();

        var exitCode = await HostedRerankerApp.RunAsync([$"--Reranker:Model={RealServerFixture.ModelPath}"], output);

        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Contains("health: Healthy (ready)", text);
        using var reference = await CrossEncoder.LoadAsync(RealServerFixture.ModelPath, new CrossEncoderOptions { MaxLength = 512 });
        var expected = await reference.RerankAsync(HostedRerankerApp.Query, HostedRerankerApp.Passages);
        var lines = text.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(expected.Select(r => $"  {r.Score:F4}  #{r.Index}  {r.Document}"), lines);
    }

    [Fact]
    public async Task The_sample_exits_non_zero_when_the_model_cannot_load()
    {
        var output = new StringWriter();

        var exitCode = await HostedRerankerApp.RunAsync(["--Reranker:Model=/nonexistent/model"], output);

        Assert.Equal(1, exitCode);
        Assert.Contains("health: Unhealthy (failed)", output.ToString());
    }
}
