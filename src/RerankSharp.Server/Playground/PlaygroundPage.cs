using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RerankSharp.Server;

/// <summary>
/// The browser playground at <c>GET /</c>: one HTML page with its CSS and script inline, embedded in this assembly,
/// that calls <c>POST /v1/rerank</c> on the same server. Nothing is fetched from anywhere else, so it works offline.
/// </summary>
public static class PlaygroundPage
{
    internal const string ResourceName = "RerankSharp.Server.Playground.playground.html";

    // The page holds no user data and runs only its own inline script; the policy keeps it that way.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Lazy<byte[]> Html = new(() =>
    {
        using var stream = typeof(PlaygroundPage).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the build; this is a bug.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>The page's HTML as served.</summary>
    internal static byte[] Bytes => Html.Value;

    /// <summary>Maps <c>GET /</c> to the page. It needs no key; the API calls it makes send the key typed into it.</summary>
    public static IEndpointConventionBuilder MapRerankPlayground(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/", (HttpContext context) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.CacheControl = "no-cache";
            return TypedResults.Bytes(Bytes, "text/html; charset=utf-8");
        }).WithName("playground").ExcludeFromDescription();
}
