using System.Security.Cryptography;
using System.Text;

namespace RerankSharp.Server;

/// <summary>
/// Checks <c>Authorization: Bearer KEY</c> against the configured keys. Keys are compared as SHA-256 digests with
/// <see cref="CryptographicOperations.FixedTimeEquals"/> and every key is always compared, so neither the length nor
/// the position of a key shows in the response time.
/// </summary>
internal sealed class ApiKeyCheck(RerankServerOptions options)
{
    private readonly byte[][] _digests = options.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();

    public bool Required => _digests.Length > 0;

    public bool Accepts(string? authorization)
    {
        if (!Required) return true;
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim()));
        var match = false;
        foreach (var digest in _digests) match |= CryptographicOperations.FixedTimeEquals(digest, presented);
        return match;
    }
}
