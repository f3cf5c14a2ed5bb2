using System.Security.Cryptography;
using System.Text;
using RerankSharp.Models;

namespace RerankSharp.Onnx;

/// <summary>
/// What the converted-weight caches in a model folder's <c>.rerank-cache/</c> share (<see cref="Int8WeightCache"/>,
/// <see cref="Float32WeightCache"/>): the key that ties a cache file to the checkpoint it came from, aligned appends,
/// and publishing data before index so an index only ever describes a complete file.
/// </summary>
internal static class WeightCacheFile
{
    public const string FolderName = ".rerank-cache";

    /// <summary>A tensor's place in a cache file.</summary>
    public sealed record Slice(long Offset, long Length, long[] Shape);

    /// <summary>
    /// 16 hex digits over the tensors' names, files, offsets and dtypes and the files' sizes and modification times, so
    /// a changed checkpoint gets a new cache rather than stale weights; <paramref name="variant"/> names what the file holds.
    /// </summary>
    public static string Key(SafetensorsStore store, IEnumerable<string> names, string variant)
    {
        var text = new StringBuilder(variant).Append('\n');
        foreach (var file in store.Files)
        {
            var info = new FileInfo(file);
            var target = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
            text.Append($"{Path.GetFileName(file)} {target.Length} {target.LastWriteTimeUtc.Ticks}\n");
        }
        foreach (var name in names)
        {
            var e = store.Tensors[name];
            text.Append($"{name} {Path.GetFileName(e.FilePath)} {e.FileOffset} {e.ByteLength} {e.DType}\n");
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>Appends <paramref name="bytes"/> at the next multiple of <paramref name="alignment"/>.</summary>
    public static Slice Append(FileStream stream, ReadOnlySpan<byte> bytes, long[] shape, int alignment)
    {
        var padding = (int)((alignment - stream.Position % alignment) % alignment);
        if (padding > 0) stream.Write(new byte[padding]);
        var slice = new Slice(stream.Position, bytes.Length, shape);
        stream.Write(bytes);
        return slice;
    }

    /// <summary>
    /// A name to write the file under until it is complete, renamed into place by <see cref="Publish"/>: unique per
    /// writer, so two loads of one model at once (two processes, or two threads of one) each finish their own copy.
    /// </summary>
    public static string Partial(string dataPath) => $"{dataPath}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>Moves the finished data file into place, then writes its index the same way.</summary>
    public static void Publish(string partialPath, string dataPath, string indexPath, string indexJson)
    {
        File.Move(partialPath, dataPath, overwrite: true);
        var partialIndex = Partial(indexPath);
        File.WriteAllText(partialIndex, indexJson);
        File.Move(partialIndex, indexPath, overwrite: true);
    }

    /// <summary>A cache folder that cannot be written, as the user can act on it.</summary>
    public static RerankException CannotWrite(string folder, string what, Exception e) =>
        new(RerankErrorKind.InvalidInput,
            $"{what} needs to keep converted weights in {folder}, which cannot be written ({e.Message}); make the model folder writable, or copy the model to a writable folder.", e);
}
