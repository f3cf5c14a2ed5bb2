namespace RerankSharp.Models;

/// <summary>
/// Files found through symbolic links, as in the Hugging Face cache, where
/// <c>snapshots/&lt;revision&gt;/config.json</c> links to <c>blobs/&lt;hash&gt;</c>.
/// </summary>
/// <remarks>
/// On Unix, .NET's <see cref="File.Exists"/> is true for a link whose target is gone, and
/// <see cref="FileInfo.Length"/> of a link is the length of the link text. A blob whose download
/// never finished leaves exactly such a dangling link, so both must look through to the target.
/// </remarks>
internal static class LinkedFile
{
    /// <summary>The file at <paramref name="path"/> or at the end of its chain of links; null if there is none.</summary>
    public static FileInfo? Find(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
            return null;
        if (file.LinkTarget is null)
            return file;
        try
        {
            return file.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true } target ? target : null;
        }
        catch (IOException)
        {
            // A cycle of links, or one too deep to follow: as good as missing.
            return null;
        }
    }

    public static bool Exists(string path) => Find(path) is not null;
}
