namespace RerankSharp.Scoring;

/// <summary>Document tokens <c>[Start, End)</c> that go into one pair.</summary>
internal readonly record struct TokenWindow(int Start, int End)
{
    public int Length => End - Start;
}

/// <summary>Where the windows of a long document fall.</summary>
internal static class DocumentWindows
{
    /// <summary>
    /// Windows of <paramref name="window"/> tokens over <paramref name="tokens"/> document tokens, each sharing
    /// <paramref name="stride"/> tokens with the one before (HF tokenizers' <c>stride</c>: the overlap), so each starts
    /// <c>window − stride</c> after the previous. The last window is moved back to end at the document's end, so every
    /// window is full and the tail gets the most context; a document of at most <paramref name="window"/> tokens —
    /// an empty one too — is one window of all of it.
    /// </summary>
    public static TokenWindow[] Plan(int tokens, int window, int stride)
    {
        if (tokens < 0 || window < 1 || stride < 0 || stride >= window)
            throw new RerankException(RerankErrorKind.Internal, $"Windows of {window} tokens with stride {stride} over {tokens} tokens cannot be planned. This is a bug.");
        if (tokens <= window) return [new TokenWindow(0, tokens)];
        var step = window - stride;
        // 1 + ceil((tokens - window) / step) windows: the last one covers the end.
        var count = 1 + (tokens - window + step - 1) / step;
        var windows = new TokenWindow[count];
        for (var i = 0; i < count - 1; i++) windows[i] = new TokenWindow(i * step, i * step + window);
        windows[^1] = new TokenWindow(tokens - window, tokens);
        return windows;
    }
}
