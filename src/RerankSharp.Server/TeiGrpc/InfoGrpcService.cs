using Grpc.Core;
using RerankSharp.Scoring;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.TeiGrpc;

/// <summary>TEI's <c>tei.v1.Info</c> service: the fields of <c>GET /info</c> that TEI's message has.</summary>
internal sealed class InfoGrpcService(CrossEncoder encoder, RerankServerOptions options) : Protocol.Info.InfoBase
{
    public override Task<InfoResponse> Info(InfoRequest request, ServerCallContext context)
    {
        var info = RerankEndpoints.DescribeServer(encoder, options);
        var reply = new InfoResponse
        {
            Version = info.Version,
            ModelId = info.ModelId,
            ModelDtype = info.ModelDtype,
            ModelType = ModelType.Reranker,
            MaxConcurrentRequests = (uint)info.MaxConcurrentRequests,
            MaxInputLength = (uint)info.MaxInputLength,
            MaxBatchTokens = (uint)info.MaxBatchTokens,
            MaxClientBatchSize = (uint)info.MaxClientBatchSize,
            TokenizationWorkers = (uint)info.TokenizationWorkers,
        };
        if (info.ModelSha is { } sha) reply.ModelSha = sha;
        if (info.MaxBatchRequests is { } requests) reply.MaxBatchRequests = (uint)requests;
        return Task.FromResult(reply);
    }
}
