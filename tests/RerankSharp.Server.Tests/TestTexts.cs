namespace RerankSharp.Server.Tests;

/// <summary>Queries and documents of mixed scripts and lengths, made deterministically.</summary>
internal static class TestTexts
{
    public const string Query = "中国的首都是哪里?";

    public static readonly string[] Documents =
    [
        "北京是中国的政治中心和首都。",
        "首都机场位于北京,是中国重要交通枢纽。",
        "上海是中国的经济中心。",
        "Paris is the capital of France.",
        "The quick brown fox jumps over the lazy dog.",
        "",
        "Берлин — столица Германии.",
        "東京は日本の首都です。",
    ];

    private static readonly string[] Words = ["river", "北京", "capital", "mountain", "城市", "data", "history", "population", "首都", "train", "Москва", "museum"];

    /// <summary><paramref name="count"/> documents of 1 to <paramref name="maxWords"/> words, the same for the same seed.</summary>
    public static string[] Generated(int count, int seed, int maxWords = 40)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(1, maxWords + 1)).Select(_ => Words[random.Next(Words.Length)])))
            .ToArray();
    }
}
