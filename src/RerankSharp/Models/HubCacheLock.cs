namespace RerankSharp.Models;

/// <summary>
/// The per-blob lock file of the hub cache (<c>.locks/models--org--name/&lt;etag&gt;.lock</c>), so two
/// processes never write one <c>.incomplete</c> file at once.
/// </summary>
/// <remarks>
/// On Unix .NET takes <c>flock(LOCK_EX | LOCK_NB)</c> for <see cref="FileShare.None"/>, the same
/// advisory lock Python's filelock takes on that path, so this excludes huggingface_hub too.
/// </remarks>
internal static class HubCacheLock
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>Waits for the lock; <paramref name="onWait"/> is called once if someone else holds it.</summary>
    public static async Task<IDisposable> AcquireAsync(string path, Action onWait, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var waited = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                if (!waited) onWait();
                waited = true;
                await Task.Delay(Poll, ct).ConfigureAwait(false);
            }
        }
    }
}
