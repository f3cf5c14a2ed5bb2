using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RerankSharp.Scoring;
using RerankSharp.Server;
using RerankSharp.Server.Models;

namespace RerankSharp.Fuzz;

/// <summary>
/// Request bodies through the real route handlers of <see cref="RerankEndpoints"/>, over a
/// <see cref="DefaultHttpContext"/> instead of a socket, scoring on the tiny-a fixture. A refusal must be the server's own
/// 4xx (an <see cref="HttpError"/> or a <see cref="RerankException"/> that <see cref="ErrorResponses"/> maps below 500).
/// </summary>
internal static class HttpBodyTargets
{
    private sealed record Server(IServiceProvider Services, CrossEncoder Encoder, RankingService Ranking, RerankServerOptions Options);

    private static readonly Lazy<Server> Shared = new(() =>
    {
        var encoder = CrossEncoder.Load(Fixtures.TinyModel, new CrossEncoderOptions { BatchSize = 8, Threads = 1, PrepackWeights = false });
        var options = new RerankServerOptions();
        var services = new ServiceCollection().AddLogging().AddRerankServer(encoder, options).BuildServiceProvider();
        return new Server(services, encoder, services.GetRequiredService<RankingService>(), options);
    });

    public static void TeiOrJina(byte[] body) => Post(body, (c, s) => RerankEndpoints.RerankTeiOrJina(c, s.Ranking, s.Options));

    public static void CohereV1(byte[] body) => Post(body, (c, s) => RerankEndpoints.RerankCohere(c, s.Ranking, s.Options, apiVersion: 1));

    public static void CohereV2(byte[] body) => Post(body, (c, s) => RerankEndpoints.RerankCohere(c, s.Ranking, s.Options, apiVersion: 2));

    public static void Tokenize(byte[] body) => Post(body, (c, s) => RerankEndpoints.Tokenize(c, s.Ranking, s.Services.GetRequiredService<RerankModelRegistry>(), s.Options));

    private static void Post(byte[] body, Func<HttpContext, Server, Task<IResult>> handler)
    {
        var server = Shared.Value;
        var context = new DefaultHttpContext { RequestServices = server.Services };
        context.Request.Method = HttpMethods.Post;
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = body.Length;
        context.Request.Body = new MemoryStream(body, writable: false);
        context.Response.Body = new MemoryStream();
        try
        {
            var result = handler(context, server).GetAwaiter().GetResult();
            result.ExecuteAsync(context).GetAwaiter().GetResult();
            if (context.Response.StatusCode != StatusCodes.Status200OK || context.Response.Body.Length == 0)
                throw new InvalidOperationException($"A handled request answered {context.Response.StatusCode} with {context.Response.Body.Length} bytes.");
        }
        catch (HttpError e) when (e.Status is >= 400 and < 500)
        {
        }
        catch (RerankException e) when (ErrorResponses.For(e.Kind).Status is >= 400 and < 500)
        {
        }
    }
}
