using System.CommandLine;
using RerankSharp.Scoring;

namespace RerankSharp.Cli;

/// <summary>
/// <c>--long-documents</c>, <c>--chunk-stride</c>, <c>--chunk-aggregation</c>: what happens to documents longer than the
/// max length, for the commands that score (each mirrored by a RERANK_ variable; the flag wins).
/// </summary>
internal static class LongDocumentOptions
{
    public static readonly Option<LongDocumentMode?> Mode = new("--long-documents")
    {
        HelpName = ParseErrors.HelpName<LongDocumentMode>(),
        Description = "truncate (default, as the reference: text past --max-length is not seen) or chunk (score overlapping windows of a long document and combine them, see --chunk-aggregation). Env: RERANK_LONG_DOCUMENTS.",
        DefaultValueFactory = _ => CommonOptions.Env("RERANK_LONG_DOCUMENTS") is null ? null : CommonOptions.EnvEnum("RERANK_LONG_DOCUMENTS", LongDocumentMode.Truncate),
    };

    public static readonly Option<int?> Stride = new("--chunk-stride")
    {
        Description = "With chunk: document tokens each window shares with the previous one (default: a quarter of the window). Env: RERANK_CHUNK_STRIDE.",
        DefaultValueFactory = _ => CommonOptions.EnvInt("RERANK_CHUNK_STRIDE"),
    };

    public static readonly Option<WindowAggregation?> Aggregation = new("--chunk-aggregation")
    {
        HelpName = ParseErrors.HelpName<WindowAggregation>(),
        Description = "With chunk: max (default, the best window), mean (of the window logits) or first. Env: RERANK_CHUNK_AGGREGATION.",
        DefaultValueFactory = _ => CommonOptions.Env("RERANK_CHUNK_AGGREGATION") is null ? null : CommonOptions.EnvEnum("RERANK_CHUNK_AGGREGATION", WindowAggregation.Max),
    };

    public static void AddTo(Command command)
    {
        command.Options.Add(Mode);
        command.Options.Add(Stride);
        command.Options.Add(Aggregation);
    }

    /// <summary><paramref name="options"/> with the long-document settings of the command line.</summary>
    public static RerankOptions Apply(ParseResult result, RerankOptions options)
    {
        var stride = result.GetValue(Stride);
        if (stride is < 0) throw new RerankException(RerankErrorKind.InvalidInput, $"--chunk-stride {stride} must not be negative.");
        return options with
        {
            LongDocuments = result.GetValue(Mode) ?? LongDocumentMode.Truncate,
            ChunkStride = stride,
            ChunkAggregation = result.GetValue(Aggregation) ?? WindowAggregation.Max,
        };
    }

    /// <summary>A window as JSON: which one of how many, and where it is in the document's tokens and characters.</summary>
    public static System.Text.Json.Nodes.JsonObject Json(DocumentWindow window) => new()
    {
        ["index"] = window.Index,
        ["count"] = window.Count,
        ["token_start"] = window.TokenStart,
        ["token_end"] = window.TokenEnd,
        ["char_start"] = window.CharStart,
        ["char_end"] = window.CharEnd,
    };
}
