using System.Globalization;
using RerankSharp.Remote;
using RerankSharp.Scoring;

// The server: rerank serve by default (http://127.0.0.1:8080); the second argument names another API (tei, cohere-v1…).
var endpoint = new Uri(args.Length > 0 ? args[0] : "http://127.0.0.1:8080");
var api = args.Length > 1 ? Enum.Parse<RerankApi>(args[1].Replace("-", ""), ignoreCase: true) : RerankApi.RerankSharp;
using var http = new HttpClient();
using IReranker reranker = new RemoteReranker(http, new RemoteRerankerOptions { Endpoint = endpoint, Api = api });

const string query = "what is panda?";
string[] passages =
[
    "hi",
    "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China.",
];

// Best first, as an in-process CrossEncoder would answer.
foreach (var result in await reranker.RerankAsync(query, passages))
    Console.WriteLine($"{result.Score.ToString("R", CultureInfo.InvariantCulture)}\t{result.Index}\t{result.Document}");
