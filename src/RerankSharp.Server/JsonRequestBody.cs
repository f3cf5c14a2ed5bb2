using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace RerankSharp.Server;

/// <summary>
/// Reads a request body as JSON under the server's limits: content type, size (checked before and while reading),
/// nesting depth and UTF-8 validity. Everything a client can get wrong here becomes a 4xx that says what.
/// </summary>
internal static class JsonRequestBody
{
    public static async Task<JsonBody> ReadAsync(HttpContext context, RerankServerOptions options)
    {
        var request = context.Request;
        CheckContentType(request.ContentType);
        if (request.ContentLength > options.MaxBodyBytes)
            throw HttpError.TooLarge($"The request body is {request.ContentLength} bytes, over the limit of {options.MaxBodyBytes}; send fewer or shorter documents, or raise --max-body-bytes.");
        // Kestrel enforces the same limit while reading, for bodies without a Content-Length (chunked).
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = options.MaxBodyBytes;

        var body = await ReadLimitedAsync(request.Body, options.MaxBodyBytes, context.RequestAborted);
        try
        {
            if (body.Count == 0) throw HttpError.Invalid("The request body is empty; send a JSON object.");
            JsonDocument document;
            try
            {
                // Invalid UTF-8 inside strings passes the parser; JsonFields reports it when a string is read.
                document = JsonDocument.Parse(body.AsMemory(), new JsonDocumentOptions { MaxDepth = options.MaxJsonDepth });
            }
            catch (JsonException e)
            {
                throw HttpError.Invalid($"The request body is not valid JSON: {e.Message}");
            }
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = document.RootElement.ValueKind;
                document.Dispose();
                throw HttpError.Invalid($"The request body must be a JSON object; got {JsonFields.Describe(kind)}.");
            }
            return new JsonBody(document, body.Array!);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(body.Array!);
            throw;
        }
    }

    private static void CheckContentType(string? contentType)
    {
        // An absent type is read as JSON: the body is still checked, and some minimal clients send none.
        if (string.IsNullOrEmpty(contentType)) return;
        if (MediaTypeHeaderValue.TryParse(contentType, out var media) && media.MediaType is { } type
            && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || type.Equals("text/json", StringComparison.OrdinalIgnoreCase)
                || (type.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            && (media.CharSet is null || media.CharSet.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
            return;
        throw new HttpError(StatusCodes.Status415UnsupportedMediaType, ErrorTypes.UnsupportedMediaType,
            $"Content-Type '{contentType}' is not accepted; send the body as JSON in UTF-8 with 'Content-Type: application/json'.");
    }

    private static async Task<ArraySegment<byte>> ReadLimitedAsync(Stream stream, long limit, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0) return new ArraySegment<byte>(buffer, 0, length);
                length += read;
                if (length > limit)
                    throw HttpError.TooLarge($"The request body is over the limit of {limit} bytes; send fewer or shorter documents, or raise --max-body-bytes.");
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }
}

/// <summary>A parsed body and the pooled bytes it reads from (JsonDocument does not copy them); dispose after use.</summary>
internal sealed class JsonBody(JsonDocument document, byte[] rented) : IDisposable
{
    private byte[]? _rented = rented;

    public JsonElement Root => document.RootElement;

    public void Dispose()
    {
        document.Dispose();
        if (Interlocked.Exchange(ref _rented, null) is { } bytes) ArrayPool<byte>.Shared.Return(bytes);
    }
}
