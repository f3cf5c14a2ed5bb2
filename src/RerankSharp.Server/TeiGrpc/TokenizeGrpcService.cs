using Grpc.Core;
using RerankSharp.Server.Models;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.TeiGrpc;

/// <summary>TEI's <c>tei.v1.Tokenize</c> service, <c>Tokenize</c> only: the tokens of <c>POST /tokenize</c> for one text.</summary>
/// <remarks>TEI's messages name no model: the server's default model's tokenizer answers.</remarks>
internal sealed class TokenizeGrpcService(RerankModelRegistry models) : Protocol.Tokenize.TokenizeBase
{
    public override async Task<EncodeResponse> Tokenize(EncodeRequest request, ServerCallContext context)
    {
        // TEI's prompts prefix embedding inputs; a cross-encoder has none to choose from.
        if (request.HasPromptName)
            throw HttpError.Invalid($"`prompt_name` \"{request.PromptName}\" is not a prompt of this model; rerankers have no prompts, leave it out.");
        // add_special_tokens is read as sent (proto3's false when unset), as TEI's gRPC server reads it.
        var reply = new EncodeResponse();
        using var lease = await models.AcquireAsync(models.Default, context.CancellationToken);
        foreach (var token in RerankEndpoints.Tokens(RerankEndpoints.TokenizerOf(lease), request.Inputs, request.AddSpecialTokens))
            reply.Tokens.Add(new SimpleToken { Id = (uint)token.Id, Text = token.Text, Special = token.Special });
        return reply;
    }
}
