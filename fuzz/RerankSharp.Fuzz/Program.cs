using SharpFuzz;

namespace RerankSharp.Fuzz;

/// <summary>
/// <c>RerankSharp.Fuzz TARGET</c> runs the afl-fuzz loop for one target (fuzz/run.sh starts it under afl-fuzz);
/// <c>--replay TARGET PATH...</c> runs files or folders of inputs once each and reports every unexpected outcome;
/// <c>--list</c> names the targets.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args is ["--list"])
        {
            foreach (var target in FuzzTarget.All) Console.WriteLine($"{target.Name}\t{target.Description}");
            return 0;
        }
        if (args is ["--replay", var replayName, .. var paths] && paths.Length > 0)
            return FuzzTarget.Find(replayName) is { } replayed ? Replay(replayed, paths) : Unknown(replayName);
        if (args is [var name])
        {
            if (FuzzTarget.Find(name) is not { } target) return Unknown(name);
            // Nothing of the instrumented assemblies may run before this call attaches the coverage map;
            // targets load their fixtures lazily, inside the first input.
            Fuzzer.OutOfProcess.Run(stream =>
            {
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                target.Run(buffer.ToArray());
            });
            return 0;
        }
        Console.Error.WriteLine("usage: RerankSharp.Fuzz TARGET | --replay TARGET FILE_OR_DIR... | --list");
        return 2;
    }

    private static int Replay(FuzzTarget target, string[] paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "README.txt").Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
        var failures = 0;
        foreach (var file in files)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"FAIL {file}: {e.GetType().Name}: {e.Message}");
                Console.WriteLine(e.StackTrace);
                continue;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(2)) Console.WriteLine($"SLOW {file}: {clock.Elapsed.TotalSeconds:F1} s");
        }
        Console.WriteLine($"{target.Name}: {files.Count} inputs, {failures} unexpected outcomes");
        return failures == 0 ? 0 : 1;
    }

    private static int Unknown(string name)
    {
        Console.Error.WriteLine($"unknown target '{name}'; --list names them");
        return 2;
    }
}
