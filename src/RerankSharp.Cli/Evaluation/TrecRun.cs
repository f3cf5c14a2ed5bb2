using System.Globalization;

namespace RerankSharp.Cli.Evaluation;

/// <summary>
/// A run in TREC format (<c>qid Q0 docid rank score tag</c>, whitespace-separated): the candidates of each query, in
/// the order trec_eval reads them — score descending, equal scores by document id descending; the rank column is
/// ignored, as trec_eval ignores it.
/// </summary>
internal static class TrecRun
{
    public static Dictionary<string, List<string>> Load(string path)
    {
        if (!File.Exists(path))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Candidates file {path} does not exist; pass a TREC run (qid Q0 docid rank score tag per line).");
        var scored = new Dictionary<string, List<(string Document, double Score)>>(StringComparer.Ordinal);
        var seen = new HashSet<(string, string)>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0) continue;
            if (fields.Length != 6 || !double.TryParse(fields[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var score))
                throw new RerankException(RerankErrorKind.InvalidInput, $"{path}:{line} is not a TREC run line \"qid Q0 docid rank score tag\".");
            var (query, document) = (fields[0], fields[2]);
            // trec_eval refuses a document listed twice for one query, since its place would be ambiguous.
            if (!seen.Add((query, document)))
                throw new RerankException(RerankErrorKind.InvalidInput, $"{path}:{line} lists document {document} for query {query} a second time; keep one line per query and document.");
            if (!scored.TryGetValue(query, out var list)) scored[query] = list = [];
            list.Add((document, score));
        }
        return scored.ToDictionary(p => p.Key, p => Order(p.Value), StringComparer.Ordinal);
    }

    /// <summary>trec_eval's <c>comp_sim_docno</c>: higher score first, then the larger document id (byte order).</summary>
    public static List<string> Order(IEnumerable<(string Document, double Score)> candidates) =>
        candidates.OrderByDescending(c => c.Score).ThenByDescending(c => c.Document, StringComparer.Ordinal).Select(c => c.Document).ToList();
}
