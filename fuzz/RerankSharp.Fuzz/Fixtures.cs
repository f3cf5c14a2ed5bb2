namespace RerankSharp.Fuzz;

/// <summary>The repository's committed fixtures, found by walking up from the harness to RerankSharp.slnx.</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RerankSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"RerankSharp.slnx not found above {AppContext.BaseDirectory}; run the harness from inside the repository (fuzz/run.sh does).");
    });

    public static string TinyModel => Path.Combine(Root.Value, "tests", "fixtures", "models", "tiny-a");

    public static string TokenizerJson => Path.Combine(Root.Value, "tests", "fixtures", "tokenizer", "tokenizer.json");

    /// <summary>A per-process scratch folder: the loaders under test take paths, so inputs are written to files here.</summary>
    public static string Scratch { get; } = Path.Combine(Path.GetTempPath(), $"rerank-fuzz-{Environment.ProcessId}");

    public static string WriteScratch(string name, byte[] bytes)
    {
        Directory.CreateDirectory(Scratch);
        var path = Path.Combine(Scratch, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
