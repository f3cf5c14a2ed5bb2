using System.Globalization;
using RerankSharp.Scoring;

// The model: a folder (config.json, model.safetensors, tokenizer files) or a hub id, which is taken from the
// Hugging Face cache or downloaded into it on first use.
var model = args.Length > 0 ? args[0] : "BAAI/bge-reranker-v2-m3";
using var reranker = await CrossEncoder.LoadAsync(model);

// FlagEmbedding's example: the passage that answers the query should come first.
const string query = "what is panda?";
string[] passages =
[
    "hi",
    "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China.",
];

// Best first; the score is the sigmoid of the model's logit, in [0, 1].
foreach (var result in await reranker.RerankAsync(query, passages))
    Console.WriteLine($"{result.Score.ToString("R", CultureInfo.InvariantCulture)}\t{result.Index}\t{result.Document}");
