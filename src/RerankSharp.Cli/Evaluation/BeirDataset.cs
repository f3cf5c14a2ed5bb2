using System.Globalization;
using System.Text.Json;

namespace RerankSharp.Cli.Evaluation;

/// <summary>
/// A dataset in BEIR's layout: <c>corpus.jsonl</c> (<c>{"_id", "title"?, "text"}</c>), <c>queries.jsonl</c>
/// (<c>{"_id", "text"}</c>) and <c>qrels/SPLIT.tsv</c> (<c>query-id corpus-id score</c>, with a header line).
/// </summary>
/// <param name="Corpus">Document text by id: the title and the text joined by a space, as BEIR feeds cross-encoders.</param>
/// <param name="Queries">Query text by id.</param>
/// <param name="Qrels">Per query id, the graded judgements by document id.</param>
/// <param name="QrelsPath">The qrels file that was read.</param>
internal sealed record BeirDataset(
    IReadOnlyDictionary<string, string> Corpus,
    IReadOnlyDictionary<string, string> Queries,
    IReadOnlyDictionary<string, Dictionary<string, int>> Qrels,
    string QrelsPath)
{
    public static BeirDataset Load(string directory, string? split)
    {
        if (!Directory.Exists(directory))
            throw new RerankException(RerankErrorKind.InvalidInput, $"Dataset folder {directory} does not exist; pass a BEIR folder with corpus.jsonl, queries.jsonl and qrels/.");
        var qrelsPath = QrelsFile(directory, split);
        return new BeirDataset(
            ReadJsonLines(Path.Combine(directory, "corpus.jsonl"), Document),
            ReadJsonLines(Path.Combine(directory, "queries.jsonl"), (e, _) => Text(e, "text")),
            ReadQrels(qrelsPath),
            qrelsPath);
    }

    private static string QrelsFile(string directory, string? split)
    {
        var folder = Path.Combine(directory, "qrels");
        if (split is not null)
        {
            var path = Path.Combine(folder, split + ".tsv");
            return File.Exists(path)
                ? path
                : throw new RerankException(RerankErrorKind.InvalidInput, $"{path} does not exist; --split names a file in {folder} without .tsv.");
        }
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.tsv").Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length == 1) return files[0];
        var test = Path.Combine(folder, "test.tsv");
        if (File.Exists(test)) return test;
        throw new RerankException(RerankErrorKind.InvalidInput, files.Length == 0
            ? $"No qrels/*.tsv in {directory}; a BEIR folder has qrels/test.tsv (query-id, corpus-id, score)."
            : $"{folder} holds {string.Join(", ", files.Select(Path.GetFileNameWithoutExtension))}; choose one with --split.");
    }

    private static string Document(JsonElement e, string where)
    {
        var text = Text(e, "text");
        var title = e.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        return title.Length == 0 ? text : text.Length == 0 ? title : $"{title} {text}";
    }

    private static string Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static Dictionary<string, string> ReadJsonLines(string path, Func<JsonElement, string, string> read)
    {
        if (!File.Exists(path))
            throw new RerankException(RerankErrorKind.InvalidInput, $"{path} does not exist; a BEIR folder has corpus.jsonl and queries.jsonl.");
        var items = new Dictionary<string, string>(StringComparer.Ordinal);
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var where = $"{path}:{line}";
            JsonElement e;
            try
            {
                e = JsonDocument.Parse(text).RootElement;
            }
            catch (JsonException ex)
            {
                throw new RerankException(RerankErrorKind.InvalidInput, $"{where} is not JSON: {ex.Message}");
            }
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("_id", out var id) || id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
                throw new RerankException(RerankErrorKind.InvalidInput, $"{where} needs an object with an \"_id\".");
            items[id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText()] = read(e, where);
        }
        return items;
    }

    private static Dictionary<string, Dictionary<string, int>> ReadQrels(string path)
    {
        var qrels = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var fields = text.Split('\t');
            if (fields.Length < 3 || !int.TryParse(fields[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var grade))
            {
                if (line == 1) continue;   // the header: query-id corpus-id score
                throw new RerankException(RerankErrorKind.InvalidInput, $"{path}:{line} is not \"query-id<TAB>corpus-id<TAB>score\" with a whole-number score.");
            }
            if (!qrels.TryGetValue(fields[0], out var judged)) qrels[fields[0]] = judged = new Dictionary<string, int>(StringComparer.Ordinal);
            judged[fields[1]] = grade;
        }
        return qrels;
    }
}
