using System.Text;
using System.Text.Json.Nodes;
using RerankSharp.Inference;

namespace RerankSharp.Tests.Onnx;

/// <summary>
/// A golden_logits.json written by tools/model/golden_logits.py: padded batches of token ids and
/// the float64 reference logits (tools/model/reference.py) for one fixture model.
/// </summary>
internal sealed record GoldenLogits(string Generator, string Date, IReadOnlyList<GoldenLogits.Case> Cases,
    IReadOnlyDictionary<string, (string Case, int Row)[]> BatchInvariance)
{
    public sealed record Case(string Name, long[][] InputIds, long[][] AttentionMask, double[] Logits)
    {
        /// <summary>BERT fixtures only: the reference's segment ids.</summary>
        public long[][]? TokenTypeIds { get; init; }

        /// <summary>Text-pair cases only: the query and document each row was tokenized from.</summary>
        public (string Query, string Document)[]? Pairs { get; init; }

        /// <summary>Qwen3 text cases only: query, document and instruction (null = the default) of each prompt.</summary>
        public (string Query, string Document, string? Instruction)[]? Prompts { get; init; }

        public int Rows => InputIds.Length;
        public int Tokens => InputIds[0].Length;
        public long[] FlatIds => InputIds.SelectMany(r => r).ToArray();
        public long[] FlatMask => AttentionMask.SelectMany(r => r).ToArray();

        /// <summary>This batch's logits from <paramref name="session"/>, one per row.</summary>
        public float[] Run(EncoderSession session) => session.Run(FlatIds, FlatMask, Rows, Tokens, CancellationToken.None);

        /// <summary>This batch's logits from <paramref name="session"/> and the largest |Δ| from the reference's.</summary>
        public (float[] Logits, double Worst) Drift(EncoderSession session)
        {
            var logits = Run(session);
            return (logits, logits.Select((l, i) => Math.Abs(l - Logits[i])).Max());
        }
    }

    /// <summary>The text-pair case: tests/fixtures/text_pairs.json through the fixture's tokenizer.</summary>
    public Case TextPairs => Cases.Single(c => c.Name == "text_pairs");

    /// <summary>
    /// Asserts that each batch_invariance group's sequence gets the same logit from <paramref name="session"/> at each of
    /// its places (alone, and at other rows of padded batches) within <paramref name="budget"/> relative to
    /// max(1, |logit|); writes each group's spread to <paramref name="log"/>.
    /// </summary>
    public void AssertBatchInvariant(EncoderSession session, double budget, Action<string> log, string model)
    {
        var cases = Cases.ToDictionary(c => c.Name);
        foreach (var (group, places) in BatchInvariance)
        {
            var scores = places.Select(p => cases[p.Case].Run(session)[p.Row]).ToArray();
            var spread = scores.Max() - scores.Min();
            log($"{model} {group}: {places.Length} places, spread {spread:E2}");
            Xunit.Assert.True(spread <= budget * Math.Max(1, Math.Abs(scores[0])), $"{group}: scores {string.Join(", ", scores)}");
        }
    }

    /// <summary>
    /// Every golden logit from <paramref name="session"/> within <paramref name="tolerance"/> relative of the reference's
    /// (<see cref="Compare"/>); writes the comparison, labelled, to <paramref name="log"/>.
    /// </summary>
    public void AssertMatches(EncoderSession session, double tolerance, Action<string> log, string label)
    {
        var result = Compare(session, tolerance);
        log($"{label}: {result} vs {Generator} ({Date})");
        Xunit.Assert.True(result.Mismatches == 0, result.Failure);
    }

    /// <summary>
    /// int8 on the text pairs of fixture <paramref name="model"/>, copied to a temporary folder (the int8 weight cache is
    /// written beside the weights) and opened by <paramref name="createSession"/>: within <paramref name="budget"/> of the
    /// reference's logits, and not equal to them (int8 really ran).
    /// </summary>
    public static void AssertInt8Drift(string model, double budget, Func<string, EncoderSession> createSession, Action<string> log)
    {
        using var temp = RerankSharp.Tests.Models.TempDirectory.CopyOf(FixturePaths.Model(model));
        var golden = Load(temp.Path);
        using var session = createSession(temp.Path);

        var (logits, worst) = golden.TextPairs.Drift(session);
        log($"{model} int8: max |Δ logit| {worst:E2} over {logits.Length} text pairs");
        Xunit.Assert.True(worst < budget, $"int8 drifted {worst} from the reference");
        Xunit.Assert.NotEqual(golden.TextPairs.Logits.Select(l => (float)l), logits);
    }

    /// <summary>What <see cref="Compare"/> found: the largest differences, and the first mismatches as llm.c prints them.</summary>
    public sealed record Comparison(int Compared, int Mismatches, double MaxAbsolute, double MaxRelative, double Tolerance, string FirstMismatches)
    {
        public override string ToString() => $"{Compared} logits; max |Δ| {MaxAbsolute:E2}, max relative {MaxRelative:E2}";

        public string Failure => $"{Mismatches} of {Compared} logits off by more than {Tolerance} relative:\n{FirstMismatches}";
    }

    /// <summary>
    /// Runs every golden batch through <paramref name="session"/> and compares each row's logit with the reference's,
    /// relative to max(1, |reference|) (DESIGN.md §7).
    /// </summary>
    public Comparison Compare(EncoderSession session, double tolerance)
    {
        var report = new StringBuilder();
        double maxAbsolute = 0, maxRelative = 0;
        int compared = 0, mismatches = 0;
        foreach (var c in Cases)
        {
            var logits = c.Run(session);
            for (var row = 0; row < c.Rows; row++)
            {
                var absolute = Math.Abs(logits[row] - c.Logits[row]);
                var relative = absolute / Math.Max(1, Math.Abs(c.Logits[row]));
                maxAbsolute = Math.Max(maxAbsolute, absolute);
                maxRelative = Math.Max(maxRelative, relative);
                compared++;
                if (relative > tolerance && mismatches++ < 5)
                    report.AppendLine($"  {c.Name}[{row}] ({c.AttentionMask[row].Sum()} of {c.Tokens} tokens): got {logits[row]:R}, reference {c.Logits[row]:R}, |Δ| {absolute:E2}");
            }
        }
        return new Comparison(compared, mismatches, maxAbsolute, maxRelative, tolerance, report.ToString());
    }

    public static GoldenLogits Load(string modelDirectory, string fileName = "golden_logits.json")
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(modelDirectory, fileName)))!;
        static long[][] Matrix(JsonNode node) =>
            node.AsArray().Select(r => r!.AsArray().Select(x => x!.GetValue<long>()).ToArray()).ToArray();
        var cases = root["cases"]!.AsArray().Select(c => new Case(
            c!["name"]!.GetValue<string>(),
            Matrix(c["input_ids"]!),
            Matrix(c["attention_mask"]!),
            c["logits"]!.AsArray().Select(x => x is JsonArray row ? row[0]!.GetValue<double>() : x!.GetValue<double>()).ToArray())
        {
            TokenTypeIds = c["token_type_ids"] is { } types ? Matrix(types) : null,
            Pairs = c["pairs"]?.AsArray().Select(p => (p!["query"]!.GetValue<string>(), p["document"]!.GetValue<string>())).ToArray(),
            Prompts = c["prompts"]?.AsArray().Select(p => (p!["query"]!.GetValue<string>(), p["document"]!.GetValue<string>(), p["instruction"]?.GetValue<string>())).ToArray(),
        }).ToList();
        var invariance = (root["batch_invariance"]?.AsObject() ?? []).ToDictionary(
            p => p.Key,
            p => p.Value!.AsArray().Select(e => (e![0]!.GetValue<string>(), e[1]!.GetValue<int>())).ToArray());
        return new GoldenLogits(root["generator"]!.GetValue<string>(), root["date"]!.GetValue<string>(), cases, invariance);
    }
}
