using Grpc.Core;
using RerankSharp.Server.Models;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.TeiGrpc;

/// <summary>TEI's <c>tei.v1.Info</c> service: the fields of <c>GET /info</c> that TEI's message has.</summary>
/// <remarks>TEI's messages name no model: the server's default model answers.</remarks>
internal sealed class InfoGrpcService(RerankModelRegistry models, RerankServerOptions options) : Protocol.Info.InfoBase
{
    public override async Task<InfoResponse> Info(InfoRequest request, ServerCallContext context)
    {
        var info = await RerankEndpoints.DescribeServerAsync(models.Default, models, options, context.CancellationToken);
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
        return reply;
    }
}
