using System.Text;

namespace RerankSharp.Tests.Models;

/// <summary>A fresh folder under the system temp folder, deleted with everything in it on disposal.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rerank-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>A fresh folder holding a copy of the files at the top of <paramref name="source"/> (links followed).</summary>
    public static TempDirectory CopyOf(string source)
    {
        var copy = new TempDirectory();
        foreach (string file in Directory.GetFiles(source))
            File.Copy(RerankSharp.Models.LinkedFile.Find(file)!.FullName, copy.PathOf(System.IO.Path.GetFileName(file)));
        return copy;
    }

    public string Path { get; }

    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes UTF-8 text without a byte-order mark, as Python does.</summary>
    public string Write(string name, string text) => Write(name, new UTF8Encoding(false).GetBytes(text));

    public string Write(string name, byte[] bytes)
    {
        string path = PathOf(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Delete(string name) => File.Delete(PathOf(name));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A mapping a failing test left open must not hide that test's own failure.
        }
    }
}
