using System.Diagnostics;
using System.Text;

namespace RerankSharp.Cli.Tests;

/// <summary>Runs the built <c>rerank</c> program as a user would, capturing its streams and exit code.</summary>
internal static class RerankProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>An address where nothing listens (port 9, discard), so a download fails at once.</summary>
    public const string ClosedEndpoint = "http://127.0.0.1:9";

    public static Result Run(string? stdin, params string[] args) => Run(stdin, null, args);

    public static Result Run(string? stdin, IDictionary<string, string>? environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"rerank {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Runs a documented shell line as a reader would type it: bash in <paramref name="workingDirectory"/>, with
    /// <c>rerank</c> the program under test (so pipes, quotes and <c>VAR=value</c> prefixes work as written).
    /// </summary>
    public static Result Bash(string command, string workingDirectory)
    {
        var info = StartInfo(null);
        info.FileName = "bash";
        info.ArgumentList.Clear();
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"rerank() {{ dotnet \"{Path.Combine(AppContext.BaseDirectory, "rerank.dll")}\" \"$@\"; }}\n{command}");
        info.WorkingDirectory = workingDirectory;
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} did not finish in 3 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>How <see cref="Run(string?, IDictionary{string, string}?, string[])"/> starts <c>rerank</c>, for a test that must act while it runs.</summary>
    public static ProcessStartInfo StartInfo(IDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rerank.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // Keep the user's own RERANK_* settings and hub cache out of the tests.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("RERANK_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        info.Environment["HF_HUB_CACHE"] = Path.Combine(Path.GetTempPath(), "rerank-tests-empty-hub-cache");
        // No test may reach the real hub: a hub id not in the cache meets a closed local port.
        foreach (var key in new[] { "HF_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "HF_HUB_OFFLINE" }) info.Environment.Remove(key);
        info.Environment["HF_ENDPOINT"] = ClosedEndpoint;
        if (environment is not null)
            foreach (var (key, value) in environment) info.Environment[key] = value;
        return info;
    }
}
