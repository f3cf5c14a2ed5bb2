// The C# of README.md. The test project compiles this file, and DocSnippetsTests checks that README's code block is the
// region here, its leading using directives being this file's, so the README's code always builds.
using RerankSharp.Scoring;

namespace RerankSharp.Docs;

public static class ReadmeSnippets
{
    public static async Task LibraryAsync()
    {
        #region Library
        using var reranker = await CrossEncoder.LoadAsync("BAAI/bge-reranker-v2-m3");   // or a model folder
        var ranked = await reranker.RerankAsync("中国的首都是哪里?", ["首都机场位于北京,是中国重要交通枢纽。", "北京是中国的政治中心和首都。"]);
        foreach (var r in ranked) Console.WriteLine($"{r.Score:F4}  #{r.Index}  {r.Document}");

        (string, string)[] pairs = [("query", "passage one"), ("query", "passage two")];
        float[] scores = reranker.Predict(pairs);                                        // sigmoid, input order
        float[] logits = reranker.Predict(pairs, new RerankOptions { RawScores = true }); // raw logits
        #endregion
        Console.WriteLine($"{scores.Length} scores, {logits.Length} logits");
    }
}
