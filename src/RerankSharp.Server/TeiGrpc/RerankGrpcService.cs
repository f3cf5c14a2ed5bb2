using System.Diagnostics;
using Grpc.Core;
using RerankSharp.Scoring;
using RerankSharp.Server.TeiGrpc.Protocol;
using ProtocolDirection = RerankSharp.Server.TeiGrpc.Protocol.TruncationDirection;
using TimingMetadata = RerankSharp.Server.TeiGrpc.Protocol.Metadata;
using TruncationDirection = RerankSharp.Tokenization.TruncationDirection;

namespace RerankSharp.Server.TeiGrpc;

/// <summary>
/// TEI's <c>tei.v1.Rerank</c> service. Scores go through the same <see cref="RankingService"/> as <c>POST /rerank</c>,
/// so gRPC and HTTP callers share the encoder's queue and its batches, and get the same scores for the same pairs.
/// </summary>
internal sealed class RerankGrpcService(RankingService ranking, RerankServerOptions options) : Protocol.Rerank.RerankBase
{
    public override async Task<RerankResponse> Rerank(RerankRequest request, ServerCallContext context)
    {
        CheckCount(request.Texts.Count);
        var query = new RankQuery(request.Query, request.Texts)
        {
            RawScores = request.RawScores,
            Truncate = Truncate(request.Truncate),
            Direction = Direction(request.TruncationDirection),
        };
        var (scores, _) = await ranking.ScoreAsync(query, context.CancellationToken);
        return Reply(context, request.Texts, request.ReturnText, RankingService.ComputeCharacters(request.Query, request.Texts), scores);
    }

    /// <summary>
    /// One (query, text) pair per message, ranked when the client closes the stream. As on TEI, <c>raw_scores</c> and
    /// <c>return_text</c> are read from the first message and the rest of each message counts for its own pair;
    /// pairs that share a query are scored as one request.
    /// </summary>
    public override async Task<RerankResponse> RerankStream(IAsyncStreamReader<RerankStreamRequest> requestStream, ServerCallContext context)
    {
        var pairs = new List<RerankStreamRequest>();
        long bytes = 0;
        await foreach (var pair in requestStream.ReadAllAsync(context.CancellationToken))
        {
            CheckCount(pairs.Count + 1);
            // Each message is bounded by the message size limit; the stream as a whole is held in memory until it
            // closes, so it gets the limit of one HTTP body, refused as gRPC refuses an oversized message.
            bytes += pair.CalculateSize();
            if (bytes > options.MaxBodyBytes)
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"The stream's messages add up to more than {options.MaxBodyBytes} bytes (--max-body-bytes); send fewer or shorter texts per call."));
            pairs.Add(pair);
        }
        if (pairs.Count == 0) throw HttpError.Invalid("The stream held no texts; send one RerankStreamRequest per text before closing it.");
        var first = pairs[0];
        var groups = Enumerable.Range(0, pairs.Count)
            .GroupBy(i => (pairs[i].Query, pairs[i].Truncate, pairs[i].TruncationDirection))
            .Select(g => (Indices: g.ToArray(), Query: new RankQuery(g.Key.Query, g.Select(i => pairs[i].Text).ToArray())
            {
                RawScores = first.RawScores,
                Truncate = Truncate(g.Key.Truncate),
                Direction = Direction(g.Key.TruncationDirection),
            }))
            .ToList();

        // The groups wait in the queue together; if one fails, the others stop costing compute.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var scored = await Task.WhenAll(groups.Select(async g =>
        {
            try
            {
                return (await ranking.ScoreAsync(g.Query, failed.Token)).Scores;
            }
            catch
            {
                await failed.CancelAsync();
                throw;
            }
        }));

        var texts = pairs.Select(p => p.Text).ToArray();
        var merged = new DocumentScores(new float[pairs.Count], new int[pairs.Count], new bool[pairs.Count],
            // Tokenization runs on this call's thread, one group after the other; the groups wait and run side by side.
            TimeSpan.FromTicks(scored.Sum(s => s.TokenizationTime.Ticks)), scored.Max(s => s.QueueTime), scored.Max(s => s.InferenceTime));
        for (var g = 0; g < groups.Count; g++)
            for (var j = 0; j < groups[g].Indices.Length; j++)
            {
                var i = groups[g].Indices[j];
                merged.Scores[i] = scored[g].Scores[j];
                merged.Tokens[i] = scored[g].Tokens[j];
                merged.Truncated[i] = scored[g].Truncated[j];
            }
        var characters = pairs.Sum(p => (long)p.Query.Length + p.Text.Length);
        return Reply(context, texts, first.ReturnText, characters, merged);
    }

    private static RerankResponse Reply(ServerCallContext context, IReadOnlyList<string> texts, bool returnText, long characters, DocumentScores scores)
    {
        var http = context.GetHttpContext();
        var started = http.Items[RerankEndpointFilter.StartedKey] as long? ?? Stopwatch.GetTimestamp();
        var total = Stopwatch.GetElapsedTime(started);
        // TEI sends its timing headers as initial metadata too; they leave with the response message.
        RankingService.WriteTimingHeaders(http.Response, characters, scores, total);

        var reply = new RerankResponse
        {
            Metadata = new TimingMetadata
            {
                ComputeChars = (uint)Math.Min(characters, uint.MaxValue),
                ComputeTokens = (uint)Math.Min(scores.TotalTokens, uint.MaxValue),
                TotalTimeNs = Nanoseconds(total),
                TokenizationTimeNs = Nanoseconds(scores.TokenizationTime),
                QueueTimeNs = Nanoseconds(scores.QueueTime),
                InferenceTimeNs = Nanoseconds(scores.InferenceTime),
            },
        };
        foreach (var result in RerankScores.Rank(scores.Scores, texts))
        {
            var rank = new Rank { Index = (uint)result.Index, Score = result.Score };
            if (returnText) rank.Text = result.Document;
            reply.Ranks.Add(rank);
        }
        return reply;
    }

    private void CheckCount(int count)
    {
        if (count > options.MaxDocuments)
            throw HttpError.TooLarge($"More than {options.MaxDocuments} texts in one call is over the limit; send them in several calls or raise --max-documents.");
    }

    // proto3 cannot tell an unset bool from false, so false leaves the choice to --auto-truncate, as an absent
    // `truncate` does on HTTP; TEI's gRPC server ignores --auto-truncate and refuses long pairs unless true.
    private static bool? Truncate(bool truncate) => truncate ? true : null;

    private static TruncationDirection Direction(ProtocolDirection direction) => direction switch
    {
        ProtocolDirection.Right => TruncationDirection.Right,
        ProtocolDirection.Left => TruncationDirection.Left,
        _ => throw HttpError.Invalid($"`truncation_direction` {(int)direction} is not a TruncationDirection; send TRUNCATION_DIRECTION_RIGHT (0) or TRUNCATION_DIRECTION_LEFT (1)."),
    };

    private static ulong Nanoseconds(TimeSpan time) => (ulong)Math.Max(0, time.Ticks) * 100;
}
