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
            var logits = session.Run(c.FlatIds, c.FlatMask, c.Rows, c.Tokens, CancellationToken.None);
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

    /// <summary>
    /// The scores <paramref name="session"/> gives each <see cref="BatchInvariance"/> group at its places (the same
    /// sequence alone and at rows of padded batches), group by group.
    /// </summary>
    public IEnumerable<(string Group, float[] Scores)> BatchInvarianceScores(EncoderSession session)
    {
        var cases = Cases.ToDictionary(c => c.Name);
        foreach (var (group, places) in BatchInvariance)
            yield return (group, places.Select(p => session.Run(cases[p.Case].FlatIds, cases[p.Case].FlatMask, cases[p.Case].Rows, cases[p.Case].Tokens,
                CancellationToken.None)[p.Row]).ToArray());
    }

    /// <summary>Case <paramref name="name"/> through <paramref name="session"/>: its logits and the largest |Δ| from the reference's.</summary>
    public (float[] Logits, double Worst) Run(EncoderSession session, string name)
    {
        var c = Cases.Single(c => c.Name == name);
        var logits = session.Run(c.FlatIds, c.FlatMask, c.Rows, c.Tokens, CancellationToken.None);
        return (logits, logits.Select((l, i) => Math.Abs(l - c.Logits[i])).Max());
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
