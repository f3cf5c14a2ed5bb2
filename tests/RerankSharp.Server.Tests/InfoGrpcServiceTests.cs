using System.Text.Json.Nodes;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.Tests;

public class InfoGrpcServiceTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    [Fact]
    public async Task Info_reports_a_reranker_with_the_values_of_GET_info()
    {
        var server = fixture.Server;

        var reply = await new Info.InfoClient(server.Channel).InfoAsync(new InfoRequest());
        var (_, text) = await server.GetAsync("/info");

        var http = JsonNode.Parse(text)!;
        Assert.Equal(ModelType.Reranker, reply.ModelType);
        Assert.Equal(http["model_id"]!.GetValue<string>(), reply.ModelId);
        Assert.Equal(http["model_dtype"]!.GetValue<string>(), reply.ModelDtype);
        Assert.Equal(http["version"]!.GetValue<string>(), reply.Version);
        Assert.Equal(http["max_concurrent_requests"]!.GetValue<uint>(), reply.MaxConcurrentRequests);
        Assert.Equal(http["max_input_length"]!.GetValue<uint>(), reply.MaxInputLength);
        Assert.Equal(http["max_batch_tokens"]!.GetValue<uint>(), reply.MaxBatchTokens);
        Assert.Equal(http["max_client_batch_size"]!.GetValue<uint>(), reply.MaxClientBatchSize);
        Assert.Equal(http["tokenization_workers"]!.GetValue<uint>(), reply.TokenizationWorkers);
        Assert.False(reply.HasModelSha);
        Assert.False(reply.HasMaxBatchRequests);
    }
}
