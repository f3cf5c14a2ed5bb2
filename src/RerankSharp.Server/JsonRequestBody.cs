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
        // The limit is enforced by counting below; Kestrel's own cap is raised to the drain limit so that an
        // oversized body can be read to its end and the client sees the 413 instead of a reset connection.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = DrainLimit(options);
        if (request.ContentLength > options.MaxBodyBytes)
        {
            await DrainAsync(context, options);
            throw HttpError.TooLarge($"The request body is {request.ContentLength} bytes, over the limit of {options.MaxBodyBytes}; send fewer or shorter documents, or raise --max-body-bytes.");
        }

        var body = await ReadLimitedAsync(request.Body, options.MaxBodyBytes, context.RequestAborted);
        if (body.Array is null)
        {
            await DrainAsync(context, options);
            throw HttpError.TooLarge($"The request body is over the limit of {options.MaxBodyBytes} bytes; send fewer or shorter documents, or raise --max-body-bytes.");
        }
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
            // JsonDocument accepts invalid UTF-8 and escaped lone surrogates ("\ud800") inside strings and keys, and
            // throws InvalidOperationException from whichever lookup reads them first (found by fuzzing: a key
            // "docum\ud800ents" broke TryGetProperty into a 500). Checked once here, they are a 400.
            if (Undecodable(body.AsSpan()) is { } problem)
            {
                document.Dispose();
                throw HttpError.Invalid($"The request body {problem}; send the body as UTF-8 text.");
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

    private static string? Undecodable(ReadOnlySpan<byte> utf8)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8)) return "is not valid UTF-8";
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = int.MaxValue });
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
            try
            {
                _ = reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return $"escapes a lone UTF-16 surrogate (such as \\ud800 without its pair) in the string at byte {reader.TokenStartIndex}, which is no character";
            }
        }
        return null;
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

    /// <summary>Bodies up to this size are read to their end before a 413, so the client gets to read the answer.</summary>
    private static long DrainLimit(RerankServerOptions options) => Math.Max(4 * options.MaxBodyBytes, 64L * 1024 * 1024);

    // HTTP/1.1 clients that do not wait for 100-continue write the whole body before reading the response; closing
    // on them mid-body resets the connection and they report a broken pipe instead of the 413. So a bounded amount
    // is read and discarded first; beyond the drain limit or 10 s, the connection is closed after all.
    private static async Task DrainAsync(HttpContext context, RerankServerOptions options)
    {
        if (context.Request.ContentLength > DrainLimit(options))
        {
            context.Response.Headers.Connection = "close";
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await context.Request.Body.ReadAsync(buffer, timeout.Token) > 0) { }
        }
        catch (Exception e) when (e is OperationCanceledException or BadHttpRequestException or IOException)
        {
            context.Response.Headers.Connection = "close";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The whole body in a pooled array, or a default segment (null array) once it passes <paramref name="limit"/>.</summary>
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
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return default;
                }
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
