using System.Text.Json.Nodes;
using RerankSharp.Models;
using RerankSharp.Tokenization;

namespace RerankSharp.Bench;

/// <summary>
/// Query × documents of real text (tools/model/real_text_pairs.py's JSON Lines, `rerank score`'s input form), tokenized
/// by the model's own tokenizer: what the int8 frontier ranks and the activation statistics read on trained weights.
/// </summary>
internal static class RealTextPairs
{
    /// <summary>The first <paramref name="queries"/> lines' pairs, query by query, and the documents per query (equal on every line).</summary>
    public static (int[][] Sequences, int DocsPerQuery) Load(string path, ModelFolder folder, int queries, int maxLength = 512)
    {
        var tokenizer = PairTokenizer.Load(folder);
        var sequences = new List<int[]>();
        var docsPerQuery = -1;
        foreach (var line in File.ReadLines(path).Where(l => l.Length > 0).Take(queries))
        {
            var item = JsonNode.Parse(line) ?? throw new InvalidDataException($"{path}: an empty line");
            var query = item["query"]!.GetValue<string>();
            var documents = item["documents"]!.AsArray();
            if (docsPerQuery >= 0 && documents.Count != docsPerQuery)
                throw new InvalidDataException($"{path}: every query needs the same number of documents ({docsPerQuery}), one has {documents.Count}");
            docsPerQuery = documents.Count;
            foreach (var document in documents) sequences.Add(tokenizer.EncodePair(query, document!.GetValue<string>(), maxLength));
        }
        if (sequences.Count == 0) throw new InvalidDataException($"{path}: no pairs");
        return (sequences.ToArray(), docsPerQuery);
    }
}
