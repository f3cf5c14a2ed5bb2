using Microsoft.Extensions.Configuration;
using RerankSharp.Hosting;
using RerankSharp.Inference;
using RerankSharp.Remote;
using RerankSharp.Scoring;

namespace RerankSharp.Extensions.Tests.Hosting;

public class RerankerEnvironmentVariablesTests
{
    private static RerankerSettings Bind(IDictionary<string, string?> appsettings, System.Collections.Hashtable variables)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(appsettings).AddRerankEnvironmentVariables(variables).Build();
        var settings = new RerankerSettings();
        configuration.GetSection(RerankerSettings.SectionName).Bind(settings);
        return settings;
    }

    [Fact]
    public void The_CLIs_variables_set_the_Reranker_keys_and_override_appsettings()
    {
        var settings = Bind(
            new Dictionary<string, string?> { ["Reranker:Model"] = "from-appsettings", ["Reranker:BatchSize"] = "8", ["Reranker:Threads"] = "2" },
            new System.Collections.Hashtable
            {
                ["RERANK_MODEL"] = "/models/bge", ["RERANK_MAX_BATCH_TOKENS"] = "8192", ["RERANK_DEVICE"] = "auto", ["RERANK_RAW"] = "1",
                ["RERANK_MAX_LENGTH"] = "1024", ["RERANK_TIMEOUT"] = "30", ["RERANK_API"] = "tei", ["RERANK_ENDPOINT"] = "http://tei:80",
                ["RERANK_ACTIVATION"] = "model", ["RERANK_PORT"] = "9000", ["OTHER"] = "x",
            });

        Assert.Equal("/models/bge", settings.Model);
        Assert.Equal(8192, settings.MaxBatchTokens);
        Assert.Equal(Device.Auto, settings.Device);
        Assert.True(settings.Raw);
        Assert.Equal(ActivationMode.Model, settings.Activation);
        Assert.Equal(ActivationMode.Model, settings.ToCrossEncoderOptions().Activation);
        Assert.Equal(1024, settings.MaxLength);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Timeout);
        Assert.Equal(RerankApi.Tei, settings.Api);
        Assert.Equal(new Uri("http://tei:80"), settings.Endpoint);
        Assert.Equal(8, settings.BatchSize);     // not set by a variable: appsettings stays
        Assert.Equal(2, settings.Threads);
    }

    [Fact]
    public void Every_variable_names_a_settings_property()
    {
        var properties = typeof(RerankerSettings).GetProperties().Select(p => p.Name).ToHashSet();

        Assert.All(RerankerEnvironmentVariables.Names, pair =>
        {
            Assert.StartsWith("RERANK_", pair.Key);
            Assert.Contains(pair.Value, properties);
        });
    }
}
