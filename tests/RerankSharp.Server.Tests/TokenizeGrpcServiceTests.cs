using System.Text.Json.Nodes;
using Grpc.Core;
using RerankSharp.Server.TeiGrpc.Protocol;

namespace RerankSharp.Server.Tests;

public class TokenizeGrpcServiceTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Theory]
    [InlineData("Hello world", true)]
    [InlineData("北京是中国的首都", false)]
    public async Task Tokenize_gives_the_tokens_of_POST_tokenize(string text, bool addSpecialTokens)
    {
        var reply = await new Tokenize.TokenizeClient(Server.Channel).TokenizeAsync(new EncodeRequest { Inputs = text, AddSpecialTokens = addSpecialTokens });
        var (_, http) = await Server.PostAsync("/tokenize", new JsonObject { ["inputs"] = text, ["add_special_tokens"] = addSpecialTokens });

        var expected = Assert.Single(http!.AsArray())!.AsArray();
        Assert.Equal(expected.Select(t => t!["id"]!.GetValue<uint>()), reply.Tokens.Select(t => t.Id));
        Assert.Equal(expected.Select(t => t!["text"]!.GetValue<string>()), reply.Tokens.Select(t => t.Text));
        Assert.Equal(expected.Select(t => t!["special"]!.GetValue<bool>()), reply.Tokens.Select(t => t.Special));
        Assert.Equal(addSpecialTokens, reply.Tokens[0].Special);
        Assert.All(reply.Tokens, t => Assert.False(t.HasStart || t.HasStop));
    }

    [Fact]
    public async Task A_prompt_name_is_refused_because_rerankers_have_no_prompts()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Tokenize.TokenizeClient(Server.Channel).TokenizeAsync(new EncodeRequest { Inputs = "x", PromptName = "query" }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("no prompts", error.Status.Detail);
    }
}
