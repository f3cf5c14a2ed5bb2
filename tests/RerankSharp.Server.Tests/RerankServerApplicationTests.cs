using System.Net;
using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.Tests;

/// <summary>The standalone host: its HTTP and gRPC endpoints and what each one answers.</summary>
public class RerankServerApplicationTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    [Fact]
    public async Task The_grpc_port_answers_only_grpc_and_the_http_port_only_http()
    {
        var server = fixture.Server;
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        var httpOnGrpcPort = await http2.GetAsync(new Uri(server.GrpcAddress!, "/info"));
        var grpcRouteOnHttpPort = await server.Client.PostAsync("/tei.v1.Info/Info", new ByteArrayContent([0, 0, 0, 0, 0])
        { Headers = { { "Content-Type", "application/grpc" } } });
        var info = await new Info.InfoClient(server.Channel).InfoAsync(new InfoRequest());
        var (httpInfo, _) = await server.GetAsync("/info");

        Assert.NotEqual(server.Address.Port, server.GrpcAddress!.Port);
        Assert.Equal(404, (int)httpOnGrpcPort.StatusCode);
        Assert.Contains("This port serves gRPC", JsonNode.Parse(await httpOnGrpcPort.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        Assert.Equal(404, (int)grpcRouteOnHttpPort.StatusCode);
        Assert.Contains("--grpc-port", JsonNode.Parse(await grpcRouteOnHttpPort.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        Assert.Equal(ModelType.Reranker, info.ModelType);
        Assert.Equal(200, (int)httpInfo.StatusCode);
    }

    [Fact]
    public async Task Grpc_on_the_http_port_is_refused_before_the_server_starts()
    {
        using var encoder = await CrossEncoder.LoadAsync(RunningServer.ModelPath);

        var error = Assert.Throws<RerankException>(() => RerankServerApplication.Create(encoder, new RerankServerOptions(), new RerankHostOptions(Port: 9000, GrpcPort: 9000)));

        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains("--grpc-port 9000 is also --port", error.Message);
    }

    [Fact]
    public async Task A_server_without_a_grpc_port_has_no_grpc_address()
    {
        await using var server = await RunningServer.StartAsync();

        Assert.Null(RerankServerApplication.GrpcAddress(server.App));
        Assert.Single(RerankServerApplication.ListeningAddresses(server.App));
    }
}
