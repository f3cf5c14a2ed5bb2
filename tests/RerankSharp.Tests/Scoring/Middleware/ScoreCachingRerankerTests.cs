using System.Diagnostics.Metrics;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Scoring;

public class ScoreCachingRerankerTests
{
    [Fact]
    public async Task Documents_seen_with_the_query_are_not_scored_again()
    {
        var fake = new FakeReranker();
        using var cache = new ScoreCachingReranker(fake, capacity: 100);
        await cache.RerankAsync("q", ["aa", "b"]);

        var results = await cache.RerankAsync("q", ["b", "cccc", "aa"]);

        Assert.Equal(2, fake.Calls.Count);
        Assert.Equal(["cccc"], fake.Calls[1].Documents);
        Assert.Equal([(1, 4f, "cccc"), (2, 2f, "aa"), (0, 1f, "b")], results.Select(r => (r.Index, r.Score, r.Document)));
    }

    [Fact]
    public async Task A_cached_ranking_equals_the_uncached_one_including_top_n()
    {
        var fake = new FakeReranker { Score = (q, d) => (d.GetHashCode() ^ q.GetHashCode()) % 1000 };
        using var cache = new ScoreCachingReranker(fake, capacity: 100);
        string[] documents = ["alpha", "beta", "gamma", "delta", "epsilon"];
        var options = new RerankOptions { TopN = 3 };

        var first = await cache.RerankAsync("q", documents, options);
        var second = await cache.RerankAsync("q", documents, options);
        var direct = await fake.RerankAsync("q", documents, options);

        Assert.Equal(direct, first);
        Assert.Equal(direct, second);
        Assert.Null(fake.Calls[0].Options!.TopN);   // the cache needs every score, so it never passes top_n down
    }

    [Fact]
    public async Task The_query_and_the_score_settings_are_part_of_the_key()
    {
        var fake = new FakeReranker();
        using var cache = new ScoreCachingReranker(fake, capacity: 100);

        await cache.RerankAsync("q", ["a"]);
        await cache.RerankAsync("other", ["a"]);
        await cache.RerankAsync("q", ["a"], new RerankOptions { RawScores = true });
        await cache.RerankAsync("q", ["a"], new RerankOptions { MaxDocumentTokens = 8 });
        // A decoder's instruction is part of its prompt; an empty one is not the absent one.
        await cache.RerankAsync("q", ["a"], new RerankOptions { Instruction = "Find manuals" });
        await cache.RerankAsync("q", ["a"], new RerankOptions { Instruction = "" });
        await cache.RerankAsync("q", ["a"], new RerankOptions { Instruction = "Find manuals" });
        await cache.RerankAsync("q", ["a"]);

        Assert.Equal(6, fake.Calls.Count);
    }

    [Fact]
    public async Task Long_document_settings_are_part_of_the_key_and_a_call_for_windows_bypasses_the_cache()
    {
        var fake = new FakeReranker();
        using var cache = new ScoreCachingReranker(fake, capacity: 100);
        var chunk = new RerankOptions { LongDocuments = LongDocumentMode.Chunk };

        await cache.RerankAsync("q", ["a"], new RerankOptions());
        await cache.RerankAsync("q", ["a"], chunk);
        await cache.RerankAsync("q", ["a"], chunk with { ChunkStride = 3 });
        await cache.RerankAsync("q", ["a"], chunk with { ChunkAggregation = WindowAggregation.Mean });
        await cache.RerankAsync("q", ["a"], chunk);
        await cache.RerankAsync("q", ["a"], chunk with { ReturnWindows = true });

        Assert.Equal(5, fake.Calls.Count);
        Assert.True(fake.Calls[^1].Options!.ReturnWindows);
    }

    [Fact]
    public async Task The_least_recently_used_score_goes_first_when_full()
    {
        var fake = new FakeReranker();
        using var cache = new ScoreCachingReranker(fake, capacity: 2);
        await cache.RerankAsync("q", ["a", "b"]);
        await cache.RerankAsync("q", ["a"]);        // a is now the most recent
        await cache.RerankAsync("q", ["c"]);        // evicts b

        await cache.RerankAsync("q", ["a", "b"]);

        Assert.Equal(2, cache.Count);
        Assert.Equal(["b"], fake.Calls[^1].Documents);
    }

    [Fact]
    public async Task Lookups_are_counted_as_hits_and_misses()
    {
        long hits = 0, misses = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RerankTelemetry.SourceName && instrument.Name == RerankTelemetry.CacheLookupsMetric) l.EnableMeasurementEvents(instrument);
        };
        var cache = new ScoreCachingReranker(new FakeReranker(), capacity: 10);
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == RerankTelemetry.Attributes.CacheHit)
                {
                    if ((bool)tag.Value!) Interlocked.Add(ref hits, value);
                    else Interlocked.Add(ref misses, value);
                }
        });
        listener.Start();

        // Another test's cache may count at the same time, so this one uses its own query and asserts lower bounds.
        await cache.RerankAsync(nameof(Lookups_are_counted_as_hits_and_misses), ["a", "b"]);
        await cache.RerankAsync(nameof(Lookups_are_counted_as_hits_and_misses), ["a", "b", "c"]);

        Assert.True(hits >= 2, $"hits {hits}");
        Assert.True(misses >= 3, $"misses {misses}");
    }

    [Fact]
    public async Task Models_named_differently_do_not_share_scores()
    {
        var a = new FakeReranker { Metadata = new("fake", null, "model-a") };
        var b = new FakeReranker { Metadata = new("fake", null, "model-b"), Score = (_, _) => 42 };
        using var cacheA = new ScoreCachingReranker(a, 10);
        using var cacheB = new ScoreCachingReranker(b, 10);

        var fromA = await cacheA.RerankAsync("q", ["x"]);
        var fromB = await cacheB.RerankAsync("q", ["x"]);

        Assert.Equal(1f, fromA[0].Score);
        Assert.Equal(42f, fromB[0].Score);
    }

    [Fact]
    public async Task A_top_n_below_one_an_empty_query_and_a_null_document_are_refused_as_the_encoder_does()
    {
        using var cache = new ScoreCachingReranker(new FakeReranker(), 10);

        await Assert.ThrowsAsync<RerankException>(() => cache.RerankAsync("q", ["a"], new RerankOptions { TopN = -1 }));
        await Assert.ThrowsAsync<RerankException>(() => cache.RerankAsync("q", ["a"], new RerankOptions { TopN = 0 }));
        await Assert.ThrowsAsync<RerankException>(() => cache.RerankAsync("", ["a"]));
        Assert.Empty(await cache.RerankAsync("q", []));
        var error = await Assert.ThrowsAsync<RerankException>(() => cache.RerankAsync("q", ["a", null!]));
        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScoreCachingReranker(new FakeReranker(), 0));
    }
}
