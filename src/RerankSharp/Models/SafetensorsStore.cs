namespace RerankSharp.Models;

/// <summary>
/// The tensors of one safetensors file or of a sharded set, each file memory-mapped read-only for
/// the lifetime of the store. Reading a tensor returns a view of the mapping, so weights never pass
/// through managed memory unless <see cref="ReadAsFloat32"/> is asked to copy them.
/// </summary>
/// <remarks>
/// Opening checks every header the way the reference implementation does, and, for a sharded set,
/// that the index and the shards agree. Reads are thread-safe; disposing while another thread
/// reads is not. Spans and pointers handed out are valid only until <see cref="Dispose"/>.
/// </remarks>
public sealed class SafetensorsStore : IDisposable
{
    private const string CheckPairing = "check that config.json belongs to these weights, or re-download the model from the Hugging Face hub";
    private const string ReDownloadShards = "the files come from different downloads; re-download the model from the Hugging Face hub";

    private readonly SafetensorsFile[] _files;
    private readonly Dictionary<string, (TensorEntry Entry, SafetensorsFile File)> _byName;
    private readonly string _where;
    private bool _disposed;

    private SafetensorsStore(SafetensorsFile[] files, Dictionary<string, (TensorEntry, SafetensorsFile)> byName, string? indexPath)
    {
        _files = files;
        _byName = byName;
        IndexPath = indexPath;
        Tensors = byName.ToDictionary(pair => pair.Key, pair => pair.Value.Item1, StringComparer.Ordinal);
        Files = files.Select(file => file.Path).ToArray();
        TotalBytes = Tensors.Values.Sum(entry => entry.ByteLength);
        ParameterCount = Tensors.Values.Sum(entry => entry.ElementCount);
        _where = files.Length == 1 ? files[0].Path
            : indexPath ?? $"the {files.Length} files {string.Join(", ", Files.Select(Path.GetFileName))} in {Path.GetDirectoryName(Files[0])}";
    }

    /// <summary>Every tensor by name, across all files.</summary>
    public IReadOnlyDictionary<string, TensorEntry> Tensors { get; }

    /// <summary>The mapped files, full paths.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The shard index the set was opened with, if any.</summary>
    public string? IndexPath { get; }

    /// <summary>Bytes of tensor data across all files (headers excluded).</summary>
    public long TotalBytes { get; }

    /// <summary>Elements across all tensors: the parameter count, buffers such as position_ids included.</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// Tensors the last <see cref="Validate"/> did not expect, in ordinal order; empty before it runs.
    /// Checkpoints carry such extras legitimately (e.g. <c>roberta.embeddings.position_ids</c>, a
    /// buffer older transformers saved), so they are reported, not refused.
    /// </summary>
    public IReadOnlyList<string> UnexpectedTensors { get; private set; } = [];

    /// <summary>Maps the weight files of a folder found by <see cref="ModelFolder.Open"/>.</summary>
    public static SafetensorsStore Open(ModelFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return Open(folder.WeightFiles, folder.WeightIndexPath);
    }

    /// <summary>Maps <paramref name="files"/> and checks their headers.</summary>
    /// <param name="files">One file, or the shards of a set.</param>
    /// <param name="indexPath">
    /// The set's <c>model.safetensors.index.json</c>. With it, every shard it names must be among
    /// <paramref name="files"/> and every tensor must be in the shard the index says.
    /// </param>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.ModelNotFound"/> for a missing file or shard;
    /// <see cref="RerankErrorKind.InvalidModel"/> for a malformed, truncated or inconsistent file or index;
    /// <see cref="RerankErrorKind.UnsupportedModel"/> for a dtype this library does not know.
    /// </exception>
    public static SafetensorsStore Open(IReadOnlyList<string> files, string? indexPath = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0)
            throw new ArgumentException("At least one safetensors file is needed.", nameof(files));
        string[] paths = files.Select(Path.GetFullPath).ToArray();
        if (paths.Distinct(StringComparer.Ordinal).Count() != paths.Length)
            throw new ArgumentException("A file is listed twice.", nameof(files));

        // Read the index and check that its shards exist before mapping anything, so an incomplete
        // download is reported as such rather than through whichever shard fails first.
        SafetensorsIndex? index = indexPath is null ? null : SafetensorsIndex.Load(indexPath);
        if (index is not null)
        {
            foreach (string shard in index.ShardNames)
            {
                string shardPath = Path.Combine(index.Directory, shard);
                if (paths.Contains(shardPath, StringComparer.Ordinal))
                    continue;
                if (!LinkedFile.Exists(shardPath))
                    throw ModelFolder.ShardMissing(shard, index.Directory);
                throw new ArgumentException($"{shard} is named in {index.Path} but is not among the files given.", nameof(files));
            }
        }

        var opened = new List<SafetensorsFile>(paths.Length);
        try
        {
            foreach (string path in paths)
                opened.Add(SafetensorsFile.Open(path));

            var byName = new Dictionary<string, (TensorEntry, SafetensorsFile)>(StringComparer.Ordinal);
            foreach (SafetensorsFile file in opened)
            {
                foreach (TensorEntry entry in file.Tensors)
                {
                    if (!byName.TryAdd(entry.Name, (entry, file)))
                        throw new RerankException(RerankErrorKind.InvalidModel,
                            $"Tensor '{entry.Name}' is in both {byName[entry.Name].Item2.Path} and {file.Path}; {ReDownloadShards}.");
                }
            }

            if (index is not null)
                CheckAgainstIndex(index, byName);
            return new SafetensorsStore(opened.ToArray(), byName, index?.Path);
        }
        catch
        {
            foreach (SafetensorsFile file in opened)
                file.Dispose();
            throw;
        }
    }

    private static void CheckAgainstIndex(SafetensorsIndex index, Dictionary<string, (TensorEntry Entry, SafetensorsFile File)> byName)
    {
        foreach ((string name, string shard) in index.WeightMap)
        {
            string shardPath = Path.Combine(index.Directory, shard);
            if (!byName.TryGetValue(name, out var found))
                throw new RerankException(RerankErrorKind.InvalidModel,
                    $"{index.Path} puts tensor '{name}' in {shard}, but {shardPath} has no such tensor; {ReDownloadShards}.");
            if (!string.Equals(found.File.Path, shardPath, StringComparison.Ordinal))
                throw new RerankException(RerankErrorKind.InvalidModel,
                    $"{index.Path} puts tensor '{name}' in {shard}, but it is in {found.File.Path}; {ReDownloadShards}.");
        }
    }

    /// <summary>The bytes of tensor <paramref name="name"/>: a view of the mapped file, no copy.</summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.InvalidModel"/> if there is no such tensor;
    /// <see cref="RerankErrorKind.UnsupportedModel"/> if it is 2 GB or more, beyond what a span can hold.
    /// </exception>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        (TensorEntry entry, SafetensorsFile file) = Find(name);
        if (entry.ByteLength > int.MaxValue)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"Tensor '{name}' in {entry.FilePath} is {entry.ByteLength} bytes, more than the 2 GB one span can view; read it through GetDataPointer or its FileOffset and ByteLength instead.");
        return file.Bytes(entry.FileOffset, (int)entry.ByteLength);
    }

    /// <summary>
    /// The address of tensor <paramref name="name"/>'s first byte in the mapping, for native
    /// consumers such as an ONNX Runtime <c>OrtValue</c> over existing memory. Valid until
    /// <see cref="Dispose"/>; the memory is read-only, and writing to it crashes the process.
    /// </summary>
    public nint GetDataPointer(string name)
    {
        (TensorEntry entry, SafetensorsFile file) = Find(name);
        return file.Address(entry.FileOffset);
    }

    /// <summary>
    /// A float32 copy of tensor <paramref name="name"/>, converting F16 and BF16 exactly. Meant for
    /// small tensors and tests; large weights should stay in the mapping.
    /// </summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.InvalidModel"/> if there is no such tensor;
    /// <see cref="RerankErrorKind.UnsupportedModel"/> if its dtype is not F32, F16 or BF16.
    /// </exception>
    public float[] ReadAsFloat32(string name)
    {
        (TensorEntry entry, _) = Find(name);
        if (!entry.DType.IsReadableAsFloat32())
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"Tensor '{name}' in {entry.FilePath} is {entry.DType}; only F32, F16 and BF16 tensors can be read as float32. Use a copy of the model saved in float32, float16 or bfloat16.");
        if (entry.ElementCount > Array.MaxLength)
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"Tensor '{name}' in {entry.FilePath} has {entry.ElementCount} elements, more than one .NET array holds; read it through GetBytes or GetDataPointer instead.");

        ReadOnlySpan<byte> bytes = GetBytes(name);
        var values = new float[entry.ElementCount];
        switch (entry.DType)
        {
            case TensorDType.F32: Float32Conversion.FromFloat32(bytes, values); break;
            case TensorDType.F16: Float32Conversion.FromFloat16(bytes, values); break;
            case TensorDType.BF16: Float32Conversion.FromBFloat16(bytes, values); break;
        }
        return values;
    }

    /// <summary>
    /// Checks that each expected tensor is present with the expected shape; extra tensors are
    /// allowed and listed in <see cref="UnexpectedTensors"/>. The architecture file calls this with
    /// the names and shapes it derives from config.json, so that a mismatched config and checkpoint
    /// fails at load with the tensor named, not deep inside ONNX Runtime. <paramref name="layout"/>, when given,
    /// says in words which tensor names the model reads, for a checkpoint of another layout.
    /// </summary>
    /// <exception cref="RerankException">
    /// <see cref="RerankErrorKind.InvalidModel"/> naming the first missing or misshapen tensor, its
    /// expected and actual shape and its file, with a count of the further problems, and the layout.
    /// </exception>
    public void Validate(IEnumerable<(string Name, long[] Shape)> expected, string? layout = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var expectedNames = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<(string Name, string Detail)>();
        foreach ((string name, long[] shape) in expected)
        {
            if (!expectedNames.Add(name))
                continue;
            string expectedShape = TensorEntry.FormatShape(shape);
            if (!Tensors.TryGetValue(name, out TensorEntry? entry))
                problems.Add((name, $"tensor '{name}' (expected shape {expectedShape}) is missing from {_where}"));
            else if (!entry.Shape.AsSpan().SequenceEqual(shape))
                problems.Add((name, $"tensor '{name}' in {entry.FilePath} has shape {entry.ShapeText}, expected {expectedShape}"));
        }

        UnexpectedTensors = Tensors.Keys.Where(name => !expectedNames.Contains(name)).Order(StringComparer.Ordinal).ToArray();

        if (problems.Count == 0)
            return;
        string more = problems.Count == 1 ? ""
            : $" (and {problems.Count - 1} more: {string.Join(", ", problems.Skip(1).Take(3).Select(p => $"'{p.Name}'"))}{(problems.Count > 4 ? ", …" : "")})";
        throw new RerankException(RerankErrorKind.InvalidModel,
            $"Model weights do not match config.json: {problems[0].Detail}{more}; {(layout is null ? "" : $"the model reads the layout of {layout}; ")}{CheckPairing}.");
    }

    /// <summary>
    /// Fails if a weight file is no longer the file whose header was read: its size or modification time changed, or
    /// it is gone. ONNX Runtime opens the weight files again by path when its session is created, using the offsets
    /// read here, so a load checks this after that: a file being written by a copy or download in place would
    /// otherwise give a session over bytes the header does not describe.
    /// </summary>
    /// <exception cref="RerankException"><see cref="RerankErrorKind.InvalidModel"/> naming the file and the change.</exception>
    public void ThrowIfChanged()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (SafetensorsFile file in _files)
        {
            if (file.DescribeChange() is { } change)
                throw new RerankException(RerankErrorKind.InvalidModel,
                    $"{change} while the model was loading; something is writing the weights in place. Load again once the copy or download has finished (hub downloads write a new blob and switch the snapshot link, which never changes a file being read).");
        }
    }

    private (TensorEntry Entry, SafetensorsFile File) Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _byName.TryGetValue(name, out var found) ? found
            : throw new RerankException(RerankErrorKind.InvalidModel,
                $"Tensor '{name}' not found in {_where}; {CheckPairing}.");
    }

    /// <summary>Unmaps every file. Spans and pointers obtained earlier become invalid.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (SafetensorsFile file in _files)
            file.Dispose();
    }
}
