using System.Diagnostics;
using System.Text;

namespace RerankSharp.Packaging.Tests;

/// <summary>Runs a program (dotnet, an installed tool, sh) to its end, capturing its streams; bounded in time.</summary>
internal static class ExternalCommand
{
    public sealed record Result(string Command, int ExitCode, string Stdout, string Stderr)
    {
        public Result EnsureSuccess()
        {
            if (ExitCode != 0)
                throw new InvalidOperationException($"`{Command}` exited with {ExitCode}.\n--- stdout\n{Tail(Stdout)}\n--- stderr\n{Tail(Stderr)}");
            return this;
        }

        private static string Tail(string text) => text.Length > 6000 ? "…" + text[^6000..] : text;
    }

    public static Result Run(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null, TimeSpan? timeout = null)
    {
        var info = StartInfo(fileName, arguments, workingDirectory, environment);
        info.RedirectStandardInput = true;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        var limit = timeout ?? TimeSpan.FromMinutes(10);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{Describe(info)}` did not finish in {limit.TotalMinutes:F0} minutes");
        }
        return new Result(Describe(info), process.ExitCode, stdout.Result, stderr.Result);
    }

    public static Result Dotnet(params string[] arguments) => Run("dotnet", arguments, RepositoryRoot.Path);

    /// <summary>
    /// The start information for <paramref name="fileName"/>: streams redirected as UTF-8, and the caller's RERANK_ and
    /// Hugging Face variables removed so that only what a test sets applies (a null value removes one more).
    /// </summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory,
        IReadOnlyDictionary<string, string?>? environment)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
            WorkingDirectory = workingDirectory ?? RepositoryRoot.Path,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("RERANK_", StringComparison.Ordinal) || k.StartsWith("HF_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        // No test may reach the real hub: a download meets a closed local port unless the test names an endpoint.
        info.Environment["HF_ENDPOINT"] = "http://127.0.0.1:9";
        info.Environment["HF_HUB_CACHE"] = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rerank-tests-empty-hub-cache");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null)
            foreach (var (key, value) in environment)
                if (value is null) info.Environment.Remove(key);
                else info.Environment[key] = value;
        return info;
    }

    private static string Describe(ProcessStartInfo info) => $"{info.FileName} {string.Join(' ', info.ArgumentList)}";
}

/// <summary>The repository checkout these tests run in.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = RerankSharp.Tests.FixturePaths.RepositoryRoot;

    public static string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);
}
