using Google.Protobuf.Reflection;
using Grpc.Reflection.V1Alpha;

namespace RerankSharp.Server.Tests;

public class TeiGrpcServicesTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    [Fact]
    public async Task Reflection_describes_teis_services_with_teis_field_numbers()
    {
        using var call = new ServerReflection.ServerReflectionClient(fixture.Server.Channel).ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "tei.v1.Rerank" });
        await call.RequestStream.CompleteAsync();
        var replies = new List<ServerReflectionResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) replies.Add(call.ResponseStream.Current);

        var services = replies[0].ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Subset(services.ToHashSet(), new HashSet<string> { "tei.v1.Rerank", "tei.v1.Info", "tei.v1.Tokenize", "grpc.health.v1.Health" });
        var file = FileDescriptorProto.Parser.ParseFrom(replies[1].FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("tei.v1", file.Package);
        var request = file.MessageType.Single(m => m.Name == "RerankRequest");
        Assert.Equal(["query:1", "texts:2", "truncate:3", "raw_scores:4", "return_text:5", "truncation_direction:6"], request.Field.Select(f => $"{f.Name}:{f.Number}"));
        var rank = file.MessageType.Single(m => m.Name == "Rank");
        Assert.Equal(["index:1", "text:2", "score:3"], rank.Field.Select(f => $"{f.Name}:{f.Number}"));
        var metadata = file.MessageType.Single(m => m.Name == "Metadata");
        Assert.Equal(["compute_chars:1", "compute_tokens:2", "total_time_ns:3", "tokenization_time_ns:4", "queue_time_ns:5", "inference_time_ns:6"],
            metadata.Field.Select(f => $"{f.Name}:{f.Number}"));
        var rerank = file.Service.Single(s => s.Name == "Rerank");
        Assert.Equal(["Rerank", "RerankStream"], rerank.Method.Select(m => m.Name));
        Assert.True(rerank.Method[1].ClientStreaming && !rerank.Method[1].ServerStreaming);
    }
}
