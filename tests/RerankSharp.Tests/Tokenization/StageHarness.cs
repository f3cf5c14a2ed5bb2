using RerankSharp.Tokenization;
using RerankSharp.Tokenization.Proto;

namespace RerankSharp.Tests.Tokenization;

/// <summary>Runs single stages on plain strings, and reads the fixture's charsmap, for the per-stage tests.</summary>
internal static class StageHarness
{
    private static readonly Lazy<PrecompiledCharsmap> CharsmapLazy = new(() =>
    {
        using var stream = File.OpenRead(TokenizerFixtures.ModelPath);
        var proto = ModelProto.Parser.ParseFrom(stream);
        return PrecompiledCharsmap.Parse(proto.NormalizerSpec.PrecompiledCharsmap.Span);
    });

    public static PrecompiledCharsmap FixtureCharsmap => CharsmapLazy.Value;

    public static string Normalize(string text)
    {
        var buffer = new PooledBuffer<char>(text.Length);
        try
        {
            new XlmRobertaNormalizer(FixtureCharsmap).Normalize(text, ref buffer);
            return new string(buffer.Span);
        }
        finally
        {
            buffer.Dispose();
        }
    }

    public static string[] PreTokenize(string normalized)
    {
        var buffer = new PooledBuffer<char>(normalized.Length);
        var words = new PooledBuffer<(int Start, int Length)>(4);
        try
        {
            buffer.AddRange(normalized);
            MetaspacePreTokenizer.PreTokenize(ref buffer, 0, ref words);
            var text = new string(buffer.Span);
            return [.. words.Span.ToArray().Select(w => text.Substring(w.Start, w.Length))];
        }
        finally
        {
            buffer.Dispose();
            words.Dispose();
        }
    }

    public static (string Text, int TokenId)[] Split(AddedTokenSplitter splitter, string text)
    {
        var segments = new PooledBuffer<TextSegment>(4);
        try
        {
            splitter.Split(text, ref segments);
            return [.. segments.Span.ToArray().Select(s => (text.Substring(s.Start, s.Length), s.TokenId))];
        }
        finally
        {
            segments.Dispose();
        }
    }

    public static int[] Encode(UnigramModel model, string word)
    {
        var ids = new PooledBuffer<int>(4);
        try
        {
            model.Encode(word, ref ids);
            return ids.ToArray();
        }
        finally
        {
            ids.Dispose();
        }
    }
}
