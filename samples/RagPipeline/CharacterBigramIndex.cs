using System.Linq.Expressions;
using Microsoft.Extensions.VectorData;

namespace RagPipeline;

/// <summary>
/// A tiny in-memory vector store, so the sample runs with no database and no embedding model: each text is embedded
/// as its character bigrams hashed into <see cref="Dimensions"/> buckets, L2-normalised, and searched by cosine
/// similarity. It retrieves by shared characters, which is what makes a keyword trap: a passage that repeats the
/// query's words ranks high whether or not it answers. A real application puts its vector store here.
/// </summary>
public sealed class CharacterBigramIndex : IVectorSearchable<Passage>
{
    public const int Dimensions = 256;

    private readonly List<(Passage Passage, float[] Vector)> _entries;

    public CharacterBigramIndex(IEnumerable<Passage> passages) =>
        _entries = passages.Select(p => (p, Embed(p.Text))).ToList();

    public async IAsyncEnumerable<VectorSearchResult<Passage>> SearchAsync<TInput>(TInput searchValue, int top,
        VectorSearchOptions<Passage>? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TInput : notnull
    {
        if (searchValue is not string text)
            throw new NotSupportedException($"{nameof(CharacterBigramIndex)} searches by text; got a {typeof(TInput).Name}.");
        if (options?.Filter is not null)
            throw new NotSupportedException($"{nameof(CharacterBigramIndex)} has no filters.");
        var query = Embed(text);
        var ranked = _entries
            .Select(e => new VectorSearchResult<Passage>(e.Passage, Cosine(query, e.Vector)))
            .OrderByDescending(r => r.Score)
            .Where(r => options?.ScoreThreshold is not { } threshold || r.Score >= threshold)
            .Skip(options?.Skip ?? 0)
            .Take(top);
        foreach (var result in ranked)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return result;
        }
        await Task.CompletedTask;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    /// <summary>Hashed character-bigram counts, unit length. Punctuation counts too; it is a toy.</summary>
    public static float[] Embed(string text)
    {
        var vector = new float[Dimensions];
        for (var i = 0; i + 1 < text.Length; i++)
            vector[(int)((uint)HashCode.Combine(text[i], text[i + 1]) % Dimensions)] += 1;
        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        if (norm > 0)
            for (var i = 0; i < vector.Length; i++) vector[i] /= norm;
        return vector;
    }

    private static double Cosine(float[] a, float[] b)
    {
        var dot = 0.0;
        for (var i = 0; i < a.Length; i++) dot += a[i] * b[i];
        return dot;
    }
}
